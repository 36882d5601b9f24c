// Wraps a wasm32-wasi reactor core module into a component, as
// `jco embed` + `jco new --wasi-reactor` do, with the pinned jco's bundled
// wasm-tools and WASI preview1 reactor adapter (sources passed as bytes:
// the bundled wasm-tools cannot open paths outside its sandbox).
//   node make_reactor.mjs <core.wasm> <world.wit> <world-name> <out.wasm>
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';

// Run from the directory holding the pinned node_modules (the build's toolchain dir).
const vendor = join(process.cwd(), 'node_modules/@bytecodealliance/jco-transpile/vendor/wasm-tools.js');
const adapter = join(process.cwd(), 'node_modules/@bytecodealliance/jco/lib/wasi_snapshot_preview1.reactor.wasm');
const { $init, tools } = await import(vendor);
await $init;

const [core, wit, world, out] = process.argv.slice(2);
const embedded = tools.componentEmbed({ binary: readFileSync(core), witSource: readFileSync(wit, 'utf8'), world });
const component = tools.componentNew(embedded, [['wasi_snapshot_preview1', readFileSync(adapter)]]);
writeFileSync(out + '.tmp', component);
renameSync(out + '.tmp', out);
