// The JavaScript hello handler: the same code on wink (componentize-js,
// fetch-event), jco serve, and workerd (module worker, below).
export function hello(request) {
  return new Response('Hello, world!\n', { headers: { 'content-type': 'text/plain' } });
}

