// What a browser downloads: raw / gzip -9 / brotli q11 (the settings of scripts/build.mjs) of our
// `lite` and `full` web builds (wasm + JS glue), the script include, and the peers'
// browser files. Sizes of a group are the sum over its files, each compressed on its own (as a
// server compresses each response).
//
//   node benches/sizes.mjs [--json]
//
// Peers (exact versions from package.json):
//  * onnxruntime-web, plain wasm backend (no WebGPU/WebGL/JSEP): the ES-module entry
//    dist/ort.wasm.min.mjs (`onnxruntime-web/wasm` without a bundler) dynamically imports
//    dist/ort-wasm-simd-threaded.mjs (Emscripten glue), which fetches
//    dist/ort-wasm-simd-threaded.wasm. The Chromium bench records the requests the page really
//    made and run.mjs checks they are these three files.
//  * GrowthBook: dist/bundles/auto.min.js, the build its docs give for a <script> tag
//    (`<script async data-client-key=… src=".../dist/bundles/auto.min.js">`: SDK + auto
//    visual-editor/URL-redirect experiments, sets window._growthbook). dist/bundles/index.min.js
//    (the UMD SDK alone, window.growthbook) is listed for reference, not compared.
//
// Brotli q11 of ort's 14 MB wasm takes ~35 s here, so compressed sizes are cached in
// target/bench-cache/sizes.json by the file's SHA-256 (and zlib/brotli version): same bytes, same
// compressor, same answer.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cacheFile = path.join(root, 'target', 'bench-cache', 'sizes.json');

const version = (pkg) => JSON.parse(readFileSync(path.join(root, 'node_modules', pkg, 'package.json'), 'utf8')).version;

export const ORT_FILES = ['dist/ort.wasm.min.mjs', 'dist/ort-wasm-simd-threaded.mjs', 'dist/ort-wasm-simd-threaded.wasm'];
export const GROWTHBOOK_SCRIPT = 'dist/bundles/auto.min.js';

export function groups() {
  return [
    { id: 'lite', label: 'edgewise `lite` (pkg/lite/web: wasm + JS glue)', files: ['pkg/lite/web/edgewise_bg.wasm', 'pkg/lite/web/edgewise.js'] },
    { id: 'full', label: 'edgewise `full` (pkg/web: wasm + JS glue)', files: ['pkg/web/edgewise_bg.wasm', 'pkg/web/edgewise.js'] },
    { id: 'include', label: 'edgewise script include (pkg/www/edgewise.js, glue bundled in)', files: ['pkg/www/edgewise.js'] },
    { id: 'include_with_wasm', label: 'script include + the wasm it loads (pkg/www)', files: ['pkg/www/edgewise.js', 'pkg/www/edgewise_bg.wasm'] },
    { id: 'ort', label: `onnxruntime-web ${version('onnxruntime-web')} (wasm backend)`, files: ORT_FILES.map((f) => `node_modules/onnxruntime-web/${f}`) },
    { id: 'growthbook', label: `GrowthBook ${version('@growthbook/growthbook')} script (auto.min.js)`, files: [`node_modules/@growthbook/growthbook/${GROWTHBOOK_SCRIPT}`] },
    { id: 'growthbook_umd', label: `GrowthBook ${version('@growthbook/growthbook')} UMD SDK (index.min.js, reference)`, files: ['node_modules/@growthbook/growthbook/dist/bundles/index.min.js'] },
  ];
}

export function measureSizes({ quiet = false } = {}) {
  let cache = {};
  try {
    cache = JSON.parse(readFileSync(cacheFile, 'utf8'));
  } catch {}
  const tag = `gzip9+br11 zlib ${process.versions.zlib} brotli ${process.versions.brotli}`;
  const fileSizes = {};
  const one = (rel) => {
    if (fileSizes[rel]) return fileSizes[rel];
    const abs = path.join(root, rel);
    if (!existsSync(abs)) throw new Error(`sizes: ${rel} is missing`);
    const b = readFileSync(abs);
    const key = `${createHash('sha256').update(b).digest('hex')} ${tag}`;
    let c = cache[key];
    const cached = !!c;
    if (!c) {
      if (!quiet && b.length > 2_000_000) console.error(`sizes: brotli q11 of ${rel} (${(b.length / 1e6).toFixed(1)} MB), once; cached after`);
      c = cache[key] = {
        gzip: gzipSync(b, { level: 9 }).length,
        brotli: brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
      };
    }
    return (fileSizes[rel] = { raw: b.length, gzip: c.gzip, brotli: c.brotli, cached });
  };
  const out = {
    method: 'per file: raw bytes, gzip level 9, brotli quality 11 (node:zlib, as scripts/build.mjs); a group = the sum of its files, each compressed alone',
    compressor: tag,
    counted: {
      'onnxruntime-web': { files: ORT_FILES, why: 'the plain wasm backend as a browser loads it: dist/ort.wasm.min.mjs (ES-module entry of onnxruntime-web/wasm) imports dist/ort-wasm-simd-threaded.mjs, which fetches dist/ort-wasm-simd-threaded.wasm' },
      '@growthbook/growthbook': { files: [GROWTHBOOK_SCRIPT], why: 'the bundle GrowthBook documents for a <script> tag (SDK + auto experiments; window._growthbook); dist/bundles/index.min.js, the UMD SDK alone, is listed as a reference only' },
    },
    groups: {},
  };
  for (const g of groups()) {
    const files = Object.fromEntries(g.files.map((f) => [f, one(f)]));
    const sum = (k) => Object.values(files).reduce((a, f) => a + f[k], 0);
    out.groups[g.id] = { label: g.label, files, raw: sum('raw'), gzip: sum('gzip'), brotli: sum('brotli') };
  }
  mkdirSync(path.dirname(cacheFile), { recursive: true });
  writeFileSync(cacheFile, JSON.stringify(cache, null, 1) + '\n');
  return out;
}

export function printSizes(s, log = console.log) {
  const n = (x) => x.toLocaleString('en-US').padStart(12);
  log('\nSizes (bytes)                                                              raw         gzip       brotli');
  for (const g of Object.values(s.groups)) {
    log(`${g.label.padEnd(68)}${n(g.raw)} ${n(g.gzip)} ${n(g.brotli)}`);
    if (Object.keys(g.files).length > 1) for (const [f, v] of Object.entries(g.files)) log(`    ${f.padEnd(64)}${n(v.raw)} ${n(v.gzip)} ${n(v.brotli)}`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const s = measureSizes();
  if (process.argv.includes('--json')) console.log(JSON.stringify(s, null, 2));
  else printSizes(s);
}
