// A visit counter on wasi:keyvalue (wink's key-value stores) with a greeting
// from wasi:config (wink's variables): see examples/js-kv/wink.toml.
import { open } from 'wasi:keyvalue/store@0.2.0-draft';
import { increment } from 'wasi:keyvalue/atomics@0.2.0-draft';
import { get as configGet } from 'wasi:config/store@0.2.0-draft';

addEventListener('fetch', (event) => event.respondWith(handle(event.request)));

async function handle(request) {
  const url = new URL(request.url);
  const bucket = open('default');
  if (request.method === 'PUT') {
    // PUT /<key> stores the body under <key>; GET /<key> reads it back.
    const body = new Uint8Array(await request.arrayBuffer());
    bucket.set(url.pathname.slice(1), body);
    return new Response(null, { status: 204 });
  }
  if (url.pathname !== '/') {
    const value = bucket.get(url.pathname.slice(1));
    if (value === undefined) return new Response('not found\n', { status: 404 });
    return new Response(value, { headers: { 'content-type': 'application/octet-stream' } });
  }
  const visits = increment(bucket, 'visits', 1n);
  const greeting = configGet('greeting') ?? 'Hello';
  return new Response(`${greeting}, visitor ${visits}!\n`, {
    headers: { 'content-type': 'text/plain; charset=utf-8' },
  });
}
