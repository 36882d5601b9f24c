// Peer figure: Node.js (V8) instantiating the same hello.wasm with node:wasi
// per iteration, as a per-request runtime would. Usage: node node_instantiate.mjs hello.wasm [n]
import { readFileSync, openSync } from 'node:fs';
import { WASI } from 'node:wasi';

const [path, nArg] = process.argv.slice(2);
const n = Number(nArg ?? 20000);
const module = await WebAssembly.compile(readFileSync(path));
const devnull = openSync('/dev/null', 'w');
const samples = [];
for (let i = -500; i < n; i++) {
  const t0 = process.hrtime.bigint();
  const wasi = new WASI({ version: 'preview1', args: ['hello'], env: {}, stdout: devnull, returnOnExit: true });
  const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
  wasi.start(instance);
  const us = Number(process.hrtime.bigint() - t0) / 1000;
  if (i >= 0) samples.push(us);
}
samples.sort((a, b) => a - b);
const pct = (q) => samples[Math.floor(q * (samples.length - 1))];
console.log(`node:wasi create+run hello: iterations=${n} median_us=${pct(0.5).toFixed(2)} p99_us=${pct(0.99).toFixed(2)} min_us=${samples[0].toFixed(2)}`);
