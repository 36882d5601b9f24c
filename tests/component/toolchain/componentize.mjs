// Builds a JavaScript app into a wasi:http component with the pinned
// componentize-js, writing the output atomically (temp + rename).
//   node componentize.mjs <app.js> <wit-dir> <world> <out.wasm>
// Run from the directory holding the pinned node_modules. componentize-js
// reads the WIT through preview2-shim's filesystem, whose 0.26 release starts
// with no preopens: give it the host root before componentize-js loads.
import { writeFileSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

// Packages resolve from the working directory's node_modules (this script
// lives in the source tree, the pinned packages in the build tree).
const pinned = createRequire(join(process.cwd(), 'package.json'));
const shim = pinned.resolve('@bytecodealliance/preview2-shim/filesystem');
const { _setPreopens } = await import(pathToFileURL(shim));
_setPreopens({ '/': '/' });
const { componentize } = await import(
  pathToFileURL(join(process.cwd(), 'node_modules/@bytecodealliance/componentize-js/src/componentize.js')));

const [source, wit, world, out] = process.argv.slice(2);
if (!out) {
  console.error('usage: node componentize.mjs <app.js> <wit-dir> <world> <out.wasm>');
  process.exit(2);
}
const { component } = await componentize({
  sourcePath: resolve(source),
  witPath: resolve(wit),
  worldName: world,
});
writeFileSync(out + '.tmp', component);
renameSync(out + '.tmp', out);
