#!/usr/bin/env node
// The project's wasm build: reads wasm-pack.toml, builds the cdylib with cargo, runs
// wasm-bindgen for every target, wasm-opt (npm binaryen) on the result, measures raw / optimized
// / gzip / brotli sizes, writes pkg/sizes.json and fails when a budget is exceeded.
//
//   node scripts/build.mjs [--variants full,lite] [--profile wasm-z] [--targets web,nodejs] [--no-opt]
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { parse } from 'smol-toml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const cfg = parse(readFileSync(path.join(root, 'wasm-pack.toml'), 'utf8'));
const { crate, rust_target: rustTarget, out_name: outName } = cfg.build;
const profile = flag('--profile') ?? cfg.build.profile;
const only = flag('--targets')?.split(',');
const wanted = flag('--variants')?.split(',');
const variants = cfg.variant.filter((v) => (wanted ? wanted.includes(v.name) : v.default !== false));
const optimize = cfg.wasm_opt?.enabled && !args.includes('--no-opt');
if (variants.length === 0) fail(`no variants selected (wasm-pack.toml has ${cfg.variant.map((v) => v.name)})`);

function fail(msg) {
  console.error(`build: ${msg}`);
  process.exit(1);
}

function run(cmd, argv, opts = {}) {
  console.log(`$ ${cmd} ${argv.join(' ')}`);
  try {
    execFileSync(cmd, argv, { cwd: root, stdio: 'inherit', ...opts });
  } catch (e) {
    fail(`${cmd} failed (exit ${e.status ?? e.message})`);
  }
}

const wasmOpt = path.join(root, 'node_modules', '.bin', 'wasm-opt');
if (optimize && !existsSync(wasmOpt)) fail('node_modules/.bin/wasm-opt is missing: run `npm ci` (npm package binaryen)');
const cargoToml = readFileSync(path.join(root, 'Cargo.toml'), 'utf8');
const version = /^version\s*=\s*"([^"]+)"/m.exec(cargoToml)?.[1] ?? '0.0.0';
const sha = (f) => createHash('sha256').update(readFileSync(f)).digest('hex');
const sizesFile = path.join(root, 'pkg', 'sizes.json');
let sizes = { profile, wasm_opt: optimize ? cfg.wasm_opt.passes : null, variants: {} };
try {
  const old = JSON.parse(readFileSync(sizesFile, 'utf8'));
  if (old.profile === profile && old.variants) sizes.variants = old.variants; // keep variants not rebuilt now
} catch {}

for (const v of variants) {
  // 1. cargo: `cargo rustc --crate-type cdylib` so that the profile's LTO applies to the .wasm
  // (with crate-type ["cdylib", "rlib"], `cargo build` was seen not passing -C lto for it).
  const features = ['--no-default-features', ...(v.features.length ? ['--features', v.features.join(',')] : [])];
  run('cargo', ['rustc', '--lib', '--crate-type', 'cdylib', '--profile', profile, '--target', rustTarget, ...features]);
  const raw = path.join(root, 'target', rustTarget, profile, `${crate}.wasm`);
  if (!existsSync(raw)) fail(`${raw} was not produced`);

  const optimizedByInput = new Map();
  const vs = (sizes.variants[v.name] = { features: v.features, raw_cargo: statSync(raw).size, targets: {} });
  const targets = v.targets.filter((t) => !only || only.includes(t.name));

  for (const t of targets) {
    const outDir = path.join(root, t.out_dir);
    mkdirSync(outDir, { recursive: true });
    // 2. wasm-bindgen (its JS snippets land in snippets/<crate>-<hash>/: no stale ones)
    rmSync(path.join(outDir, 'snippets'), { recursive: true, force: true });
    run('wasm-bindgen', ['--target', t.name, '--out-dir', outDir, '--out-name', outName, raw]);
    const snippets = snippetFiles(outDir);
    // The nodejs glue require()s the snippets, which wasm-bindgen writes as ES modules: Node
    // loads those from CommonJS only from 20.19/22.12 on. Our snippets are plain `export
    // function`s: rewrite them as CommonJS.
    if (t.name === 'nodejs') for (const f of snippets) writeFileSync(path.join(outDir, f), commonJs(readFileSync(path.join(outDir, f), 'utf8'), f));
    const bg = path.join(outDir, `${outName}_bg.wasm`);
    const bindgenSize = statSync(bg).size;
    // 3. wasm-opt (identical inputs are optimized once)
    if (optimize) {
      const key = sha(bg);
      if (optimizedByInput.has(key)) {
        console.log(`(same module as ${optimizedByInput.get(key)}: reusing its optimized output)`);
        copyFileSync(optimizedByInput.get(key), bg);
      } else {
        run(wasmOpt, [...(cfg.wasm_opt.features ?? []), ...cfg.wasm_opt.passes, '-o', bg, bg]);
        optimizedByInput.set(key, bg);
      }
    }
    // 4. package.json for the target
    const glue = `${outName}.js`;
    const pkg = {
      name: v.name === 'full' ? 'edgewise' : `edgewise-${v.name}`,
      version,
      description: 'On-device personalization runtime (WebAssembly).',
      license: 'Apache-2.0',
      files: [`${outName}_bg.wasm`, glue, `${outName}.d.ts`, ...(t.name === 'bundler' ? [`${outName}_bg.js`] : []), ...(snippets.length ? ['snippets/'] : [])],
      types: `${outName}.d.ts`,
    };
    if (t.name === 'nodejs') pkg.main = glue;
    else {
      pkg.type = 'module';
      pkg.module = glue;
      pkg.main = glue;
      pkg.sideEffects = t.name === 'bundler' ? [`./${glue}`, './snippets/*'] : false;
    }
    writeFileSync(path.join(outDir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
    // 5. sizes
    const wasm = readFileSync(bg);
    // The glue and its snippets, as shipped.
    const js = Buffer.concat([glue, ...snippets].map((f) => readFileSync(path.join(outDir, f))));
    const gz = (b) => gzipSync(b, { level: 9 }).length;
    const br = (b) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
    vs.targets[t.name] = {
      wasm_bindgen: bindgenSize,
      wasm: wasm.length,
      wasm_gzip: gz(wasm),
      wasm_brotli: br(wasm),
      js: js.length,
      js_gzip: gz(js),
      js_brotli: br(js),
    };
  }

}

mkdirSync(path.join(root, 'pkg'), { recursive: true });
writeFileSync(sizesFile, JSON.stringify(sizes, null, 2) + '\n');
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`.padStart(12);
console.log(`\nprofile ${profile}`);
console.log('variant/target   wasm-bindgen   optimized        gzip      brotli  | JS glue    gzip  | wasm+JS brotli');
const over = [];
for (const [vname, vsz] of Object.entries(sizes.variants)) {
  const b = cfg.variant.find((x) => x.name === vname)?.budget ?? {};
  for (const [name, s] of Object.entries(vsz.targets)) {
    const total = { wasm: s.wasm + s.js, gzip: s.wasm_gzip + s.js_gzip, brotli: s.wasm_brotli + s.js_brotli };
    s.total_brotli = total.brotli;
    console.log(`${(vname + '/' + name).padEnd(16)}${kb(s.wasm_bindgen)}${kb(s.wasm)}${kb(s.wasm_gzip)}${kb(s.wasm_brotli)}  |${kb(s.js)}${kb(s.js_gzip)}  |${kb(total.brotli)}`);
    if (b.max_wasm_bytes && total.wasm > b.max_wasm_bytes) over.push(`${vname}/${name}: wasm+js ${total.wasm} > ${b.max_wasm_bytes}`);
    if (b.max_gzip_bytes && total.gzip > b.max_gzip_bytes) over.push(`${vname}/${name}: gzip ${total.gzip} > ${b.max_gzip_bytes}`);
    if (b.max_brotli_bytes && total.brotli > b.max_brotli_bytes) over.push(`${vname}/${name}: brotli ${total.brotli} > ${b.max_brotli_bytes}`);
  }
}
writeFileSync(sizesFile, JSON.stringify(sizes, null, 2) + '\n');
if (over.length) fail(`over the size budget in wasm-pack.toml:\n  ${over.join('\n  ')}`);
console.log('size budget: ok');

/** wasm-bindgen's JS snippet files under `dir`, relative to it. */
function snippetFiles(dir) {
  const sd = path.join(dir, 'snippets');
  if (!existsSync(sd)) return [];
  return readdirSync(sd, { recursive: true })
    .map((f) => path.join('snippets', String(f)))
    .filter((f) => f.endsWith('.js'))
    .sort();
}

/** An ES module of `export function name(...)`s as CommonJS; anything else fails the build. */
function commonJs(src, file) {
  const names = [];
  const body = src.replace(/\bexport function (\w+)/g, (_, n) => (names.push(n), `function ${n}`));
  if (!names.length || /\b(export|import)\b/.test(body)) fail(`${file}: only \`export function\` snippets can be made CommonJS`);
  return `${body}\nmodule.exports = { ${names.join(', ')} };\n`;
}
