// Embeds a WIT world into a core module (wasm-tools component embed, from the
// pinned jco), so `jco new` can make it a component.
//   node embed_wit.mjs <core.wasm> <wit-dir> <world> <out.wasm>
// Run from the directory holding the pinned node_modules. wasm-tools reads
// the WIT through preview2-shim's filesystem, which starts with no preopens.
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

// Packages resolve from the working directory's node_modules (this script
// lives in the source tree, the pinned packages in the build tree).
const pinned = createRequire(join(process.cwd(), 'package.json'));
const shim = pinned.resolve('@bytecodealliance/preview2-shim/filesystem');
const { _setPreopens } = await import(pathToFileURL(shim));
_setPreopens({ '/': '/' });
const vendor = join(process.cwd(), 'node_modules/@bytecodealliance/jco-transpile/vendor/wasm-tools.js');
const { $init, tools } = await import(vendor);
await $init;

const [core, wit, world, out] = process.argv.slice(2);
if (!out) {
  console.error('usage: node embed_wit.mjs <core.wasm> <wit-dir> <world> <out.wasm>');
  process.exit(2);
}
const embedded = tools.componentEmbed({ binary: readFileSync(core), witPath: resolve(wit), world });
writeFileSync(out + '.tmp', embedded);
renameSync(out + '.tmp', out);
