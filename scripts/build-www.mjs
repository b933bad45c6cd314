#!/usr/bin/env node
// The script include: bundles www/edgewise.js with the wasm-bindgen glue of the `full` web build
// (pkg/web) into pkg/www/ — edgewise.js (classic script for <script src>, sets window.edgewise)
// and edgewise.mjs (ES module) — copies the wasm beside them, measures gzip/brotli and fails
// above `[include] budget` in wasm-pack.toml. Run after scripts/build.mjs (`make wasm` does).
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { parse } from 'smol-toml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'pkg', 'www');
const glue = path.join(root, 'pkg', 'web', 'edgewise.js');
if (!existsSync(glue)) {
  console.error('build-www: pkg/web/edgewise.js is missing: run `node scripts/build.mjs` first');
  process.exit(1);
}
mkdirSync(out, { recursive: true });
const common = {
  entryPoints: [path.join(root, 'www', 'edgewise.js')],
  bundle: true,
  minify: true,
  legalComments: 'none',
  target: ['es2019'],
  // The glue's default wasm URL uses import.meta.url; the include always passes the URL.
  logOverride: { 'empty-import-meta': 'silent' },
  logLevel: 'warning',
};
await build({ ...common, format: 'iife', outfile: path.join(out, 'edgewise.js') });
await build({ ...common, format: 'esm', outfile: path.join(out, 'edgewise.mjs') });
copyFileSync(path.join(root, 'pkg', 'web', 'edgewise_bg.wasm'), path.join(out, 'edgewise_bg.wasm'));

const gz = (b) => gzipSync(b, { level: 9 }).length;
const br = (b) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
const sizes = {};
for (const f of ['edgewise.js', 'edgewise.mjs', 'edgewise_bg.wasm']) {
  const b = readFileSync(path.join(out, f));
  sizes[f] = { raw: b.length, gzip: gz(b), brotli: br(b) };
  console.log(`pkg/www/${f.padEnd(17)} ${String(b.length).padStart(8)} B raw ${String(sizes[f].gzip).padStart(8)} B gzip ${String(sizes[f].brotli).padStart(8)} B brotli`);
}
const sizesFile = path.join(root, 'pkg', 'sizes.json');
let all = {};
try {
  all = JSON.parse(readFileSync(sizesFile, 'utf8'));
} catch {}
all.include = sizes;
writeFileSync(sizesFile, JSON.stringify(all, null, 2) + '\n');

const budget = parse(readFileSync(path.join(root, 'wasm-pack.toml'), 'utf8')).include?.budget ?? {};
const js = sizes['edgewise.js'];
if (budget.max_script_gzip_bytes && js.gzip > budget.max_script_gzip_bytes) {
  console.error(`build-www: edgewise.js is ${js.gzip} B gzipped, over the budget of ${budget.max_script_gzip_bytes} B`);
  process.exit(1);
}
console.log(`script include budget: ok (${js.gzip} B gzip${budget.max_script_gzip_bytes ? ` <= ${budget.max_script_gzip_bytes}` : ''})`);
