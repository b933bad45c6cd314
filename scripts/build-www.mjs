#!/usr/bin/env node
// The script include: bundles www/edgewise.js with the wasm-bindgen glue of the `full` web build
// (pkg/web) into pkg/www/ — edgewise.js (classic script for <script src>, sets window.edgewise)
// and edgewise.mjs (ES module) — copies the wasm beside them, measures gzip/brotli and fails
// above `[include] budget` in wasm-pack.toml. Run after scripts/build.mjs (`make wasm` does).
// It also writes pkg/www/sri.json: the Subresource Integrity (sha384) of each file, for
// `<script src=… integrity=… crossorigin>` when the include is served from a CDN (SECURITY.md).
//
// The glue is generated (pkg/ is never edited by hand); the bundle reads it through the
// `gluePlugin` below, which adapts it for the include (`adaptGlue`) and checks each assumption
// it makes, failing the build when the glue no longer looks as expected (a new wasm-bindgen).
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { build } from 'esbuild';
import { parse } from 'smol-toml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'pkg', 'www');
const glueFile = path.join(root, 'pkg', 'web', 'edgewise.js');
const wasmFile = path.join(root, 'pkg', 'web', 'edgewise_bg.wasm');
if (!existsSync(glueFile)) {
  console.error('build-www: pkg/web/edgewise.js is missing: run `node scripts/build.mjs` first');
  process.exit(1);
}

/**
 * The include's lookup of an import function by the name the wasm module asks for: a copy of
 * `importNamed` in www/edgewise.js (keep the two the same; `adaptGlue` checks every import of
 * the wasm module through this one, the browser tests exercise that one).
 */
const importNamed = (fns, name) => fns[name] || fns[name.slice(0, -17)] || fns[name.slice(0, -12)];

/**
 * The glue as the include bundles it. Three changes, each checked:
 * 1. `__wbg_get_imports` and `__wbg_finalize_init` are exported: the include fetches and
 *    instantiates the module itself (streaming), so the glue's generic loader (`default` init,
 *    `initSync`: any input type, deprecated call forms, a default URL) is not bundled.
 * 2. The import functions' names lose their 16-hex-digit hash (`__wbg_now_463ac581d2fc7ea3` →
 *    `__wbg_now`), or keep 4 digits of it where two different functions share a name: two dozen
 *    random hashes are ~200 B of gzip. The include's `importNamed` maps the wasm's names back;
 *    this checks, for every import of the wasm module (pkg/web/edgewise_bg.wasm), that it finds
 *    the very function text the glue had under that exact name.
 * 3. passStringToWasm0 loses its branch for a missing `realloc`: every call passes one.
 * 4. `Shared` goes, with `Engine.createShared`/`restoreShared`: it parses a config and models once
 *    for the many engines of an edge isolate; a page has one engine (~120 B of gzip).
 * 5. `Engine.setNow` goes: it fixes the engine's clock for tests and simulations; a page runs on
 *    the real clock (the npm package keeps it).
 * 6. The `TextEncoder.encodeInto` polyfill goes: every browser that compiles our module (it uses
 *    reference types and bulk memory: Chrome 96, Firefox 79, Safari 15) has `encodeInto`
 *    (Chrome 74, Firefox 66, Safari 14.1).
 * 7. `Engine.measurementCounts` goes (with the Float64Array helpers only it used): the edge
 *    worker's JSON-free form of `measurementPayload`, which a page keeps (~75 B of gzip).
 */
function adaptGlue(src) {
  const fail = (what) => {
    throw new Error(`build-www: the wasm-bindgen glue (pkg/web/edgewise.js) is not as adaptGlue in scripts/build-www.mjs expects: ${what}`);
  };
  // 1.
  for (const decl of ['function __wbg_get_imports() {', 'function __wbg_finalize_init(instance, module) {']) {
    if (src.split(decl).length !== 2) fail(`expected one "${decl}"`);
  }
  src += '\nexport { __wbg_get_imports, __wbg_finalize_init };\n';

  // 2. The import functions: the `        <name>: function(…` entries of `import0`, each up to the
  // next one. A name whose hash is needed (another import has the same name) keeps 4 digits of
  // it, unless the functions are the same text: then one of them serves both.
  const objStart = src.indexOf('    const import0 = {\n        __proto__: null,\n');
  const objEnd = src.indexOf('\n    };\n    return {\n', objStart);
  if (objStart < 0 || objEnd < 0) fail('no `const import0 = {...}` in __wbg_get_imports');
  const region = src.slice(objStart, objEnd);
  const keys = [...region.matchAll(/^ {8}(\w+): (?=function\()/gm)];
  const entries = keys.map((m, i) => ({ name: m[1], fn: region.slice(m.index + m[0].length, keys[i + 1]?.index ?? region.length).trimEnd() }));
  const hashed = (n) => /_[0-9a-f]{16}$/.test(n);
  if (entries.filter((e) => hashed(e.name)).length < 10) fail('fewer than 10 import functions with a hashed name');
  const base = (n) => n.slice(0, -17);
  const kin = (e) => entries.filter((f) => hashed(f.name) && base(f.name) === base(e.name));
  const short = (e) => (!hashed(e.name) ? e.name : kin(e).every((f) => f.fn === e.fn) ? base(e.name) : e.name.slice(0, -12));
  const table = Object.create(null); // short name -> function text, as the include will see them
  for (const e of entries) {
    const n = short(e);
    if (n in table && table[n] !== e.fn) fail(`two import functions named ${n}`);
    table[n] = e.fn;
  }
  const original = Object.assign(Object.create(null), Object.fromEntries(entries.map((e) => [e.name, e.fn])));
  for (const { module, name, kind } of WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(wasmFile)))) {
    if (module !== './edgewise_bg.js' || kind !== 'function') fail(`the wasm imports ${module} ${name} (${kind})`);
    if (!(name in original)) fail(`the wasm imports ${name}, which the glue does not define (are pkg/web/edgewise.js and edgewise_bg.wasm from one build?)`);
    if (importNamed(table, name) !== original[name]) fail(`the include's importNamed would not find ${name}`);
  }
  const renamed = Object.keys(table).map((n) => `        ${n}: ${table[n]}\n`);
  src = src.slice(0, objStart) + region.slice(0, keys[0].index) + renamed.join('').trimEnd() + src.slice(objEnd);

  // 3.
  const passDecl = 'function passStringToWasm0(arg, malloc, realloc) {';
  if (src.split(passDecl).length !== 2) fail(`expected one "${passDecl}"`);
  const calls = src.split(passDecl).join('').match(/passStringToWasm0\([^)]*\)/g) || [];
  if (!calls.length || calls.some((c) => !c.endsWith(', wasm.__wbindgen_malloc, wasm.__wbindgen_realloc)'))) fail('a passStringToWasm0 call without realloc');
  const branch = '    if (realloc === undefined) {';
  if (src.split(branch).length !== 2) fail(`expected one "${branch.trim()}"`);
  src = src.replace(branch, '    if (false) {');

  // 4. Each piece from its doc comment (or its first line) through its closing line.
  const cut = (first, last, what) => {
    const at = src.indexOf(first);
    if (at < 0 || src.indexOf(first, at + 1) >= 0) fail(`expected one "${first.trim()}" (${what})`);
    const before = src.slice(0, at);
    const docEnd = before.lastIndexOf('*/');
    const start = docEnd >= 0 && before.slice(docEnd + 2).trim() === '' ? before.lastIndexOf('\n', before.lastIndexOf('/**', docEnd)) + 1 : at;
    const end = src.indexOf(last, at);
    if (end < 0) fail(`no end "${last.trim()}" for ${what}`);
    src = src.slice(0, start) + src.slice(end + last.length);
  };
  for (const m of ['createShared', 'restoreShared']) cut(`    static ${m}(`, '\n    }\n', `Engine.${m}`);
  cut('export class Shared {', '\n}\n', 'class Shared');
  cut('if (Symbol.dispose) Shared.prototype', '\n', 'Shared dispose');
  cut('const SharedFinalization =', ';\n', 'SharedFinalization');
  if (/\bShared\b/.test(src.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, ''))) fail('Shared is still referenced');

  // 5.
  cut('    setNow(now) {', '\n    }\n', 'Engine.setNow');
  // 6.
  cut("if (!('encodeInto' in cachedTextEncoder)) {", '\n}\n', 'the encodeInto polyfill');
  // 7.
  cut('    measurementCounts() {', '\n    }\n', 'Engine.measurementCounts');
  if (!src.includes('cachedTextEncoder.encodeInto(')) fail('passStringToWasm0 does not use encodeInto');
  return src;
}

const gluePlugin = {
  name: 'edgewise-glue',
  setup(b) {
    b.onLoad({ filter: /[\\/]pkg[\\/]web[\\/]edgewise\.js$/ }, (args) => {
      if (path.resolve(args.path) !== glueFile) return undefined;
      return { contents: adaptGlue(readFileSync(glueFile, 'utf8')), loader: 'js' };
    });
  },
};

mkdirSync(out, { recursive: true });
const common = {
  entryPoints: [path.join(root, 'www', 'edgewise.js')],
  bundle: true,
  minify: true,
  legalComments: 'none',
  // The newest syntax of the include and the glue: no downlevelling helper is emitted.
  target: ['es2019'],
  // Private properties only, named one by one: the glue's wasm pointer and wrappers, and the
  // include's `__ew…` fields of its own records (never on DOM elements or public objects).
  mangleProps: /^(__wbg_ptr|__wrap|__destroy_into_raw|__ew[A-Z]\w*)$/,
  plugins: [gluePlugin],
  // The glue's own loader (not bundled: see adaptGlue) uses import.meta.url for a default URL.
  logOverride: { 'empty-import-meta': 'silent' },
  logLevel: 'warning',
};
await build({ ...common, format: 'iife', outfile: path.join(out, 'edgewise.js') });
await build({ ...common, format: 'esm', outfile: path.join(out, 'edgewise.mjs') });
copyFileSync(wasmFile, path.join(out, 'edgewise_bg.wasm'));

const gz = (b) => gzipSync(b, { level: 9 }).length;
const br = (b) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
const sizes = {};
for (const f of ['edgewise.js', 'edgewise.mjs', 'edgewise_bg.wasm']) {
  const b = readFileSync(path.join(out, f));
  sizes[f] = { raw: b.length, gzip: gz(b), brotli: br(b) };
  console.log(`pkg/www/${f.padEnd(17)} ${String(b.length).padStart(8)} B raw ${String(sizes[f].gzip).padStart(8)} B gzip ${String(sizes[f].brotli).padStart(8)} B brotli`);
}
// Subresource Integrity of what is served: pkg/www/sri.json, printed too.
const sri = {};
for (const f of Object.keys(sizes)) {
  sri[f] = `sha384-${createHash('sha384').update(readFileSync(path.join(out, f))).digest('base64')}`;
  console.log(`pkg/www/${f.padEnd(17)} integrity="${sri[f]}"`);
}
writeFileSync(path.join(out, 'sri.json'), JSON.stringify(sri, null, 2) + '\n');

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
