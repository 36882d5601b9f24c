// A fetch-event handler (StarlingMonkey's service-worker style API), built
// into a wasi:http component by componentize-js: see examples/js-hello/wink.toml.
addEventListener('fetch', (event) => event.respondWith(handle(event.request)));

async function handle(request) {
  const url = new URL(request.url);
  if (url.pathname === '/echo') {
    // Streams the request body back (wasi:io streams in and out).
    return new Response(request.body, {
      headers: { 'content-type': request.headers.get('content-type') ?? 'application/octet-stream' },
    });
  }
  if (url.pathname === '/throw') {
    throw new Error('handler failed on purpose');
  }
  if (url.pathname === '/loop') {
    for (;;) {}
  }
  return new Response(`Hello from JavaScript! ${request.method} ${url.pathname}\n`, {
    headers: { 'content-type': 'text/plain; charset=utf-8', 'x-wink-example': 'js-hello' },
  });
}
