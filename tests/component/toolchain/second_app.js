// A second JavaScript app of examples/js-hello's world (http-app), different
// code and data: componentize-js makes it the same engine with another heap.
const greetings = new Map([['en', 'Hello'], ['fr', 'Bonjour'], ['de', 'Hallo']]);

addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  const lang = url.searchParams.get('lang') ?? 'en';
  const body = JSON.stringify({ greeting: greetings.get(lang) ?? greetings.get('en'), path: url.pathname });
  event.respondWith(new Response(body, { headers: { 'content-type': 'application/json' } }));
});
