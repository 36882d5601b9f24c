// The JSON transform handler: parse the request body (a 4 KiB JSON document),
// modify it, serialize it back. The same code runs as a componentize-js
// fetch-event handler (wink, jco serve) and as a workerd module worker.
export async function transform(request) {
  const doc = await request.json();
  doc.items = doc.items.map((item) => ({ ...item, price: Math.round(item.price * 1.2 * 100) / 100, seen: true }));
  doc.count = doc.items.length;
  doc.total = doc.items.reduce((sum, item) => sum + item.price, 0);
  return new Response(JSON.stringify(doc), { headers: { 'content-type': 'application/json' } });
}

