// Builds a component with the pinned jco's bundled wasm-tools (component
// embed + component new), without a shell-level jco CLI round trip.
//   node make_component.mjs <world.wit> <world-name> <out.wasm> [utf8|utf16|compact-utf16]
// With no core module, `embed --dummy` makes a core module that satisfies
// the world, so the component's types, canon options and aliases are those
// real toolchains emit.
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';

// Run from the directory holding the pinned node_modules (the build's toolchain dir).
const vendor = join(process.cwd(), 'node_modules/@bytecodealliance/jco-transpile/vendor/wasm-tools.js');
const { $init, tools } = await import(vendor);
await $init;

const [wit, world, out, encoding] = process.argv.slice(2);
const opts = { witSource: readFileSync(wit, 'utf8'), world, dummy: true };
if (encoding) opts.stringEncoding = encoding;
const component = tools.componentNew(tools.componentEmbed(opts), []);
writeFileSync(out + '.tmp', component);
renameSync(out + '.tmp', out);
