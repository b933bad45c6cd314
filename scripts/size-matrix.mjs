#!/usr/bin/env node
// Measures what the release-profile choices buy: opt-level "s" vs "z", and `cargo rustc
// --crate-type cdylib` (what scripts/build.mjs runs) vs plain `cargo build` (with crate-type
// ["cdylib", "rlib"], cargo was seen not applying LTO to the .wasm). Each variant is a clean
// build in target/size-matrix (≈5–8 min each on 2 cores), then the same wasm-bindgen + wasm-opt
// as the shipped build. Prints a table and writes target/size-matrix/sizes.json.
//   node scripts/size-matrix.mjs
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { parse } from 'smol-toml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cfg = parse(readFileSync(path.join(root, 'wasm-pack.toml'), 'utf8'));
const targetDir = path.join(root, 'target', 'size-matrix');
const env = { ...process.env, CARGO_TARGET_DIR: targetDir };
const rt = cfg.build.rust_target;
const variants = [
  { name: 'rustc cdylib, opt-level s (shipped)', profile: 'wasm-s', cmd: ['rustc', '--lib', '--crate-type', 'cdylib'] },
  { name: 'rustc cdylib, opt-level z', profile: 'wasm-z', cmd: ['rustc', '--lib', '--crate-type', 'cdylib'] },
  { name: 'cargo build, opt-level s', profile: 'wasm-s', cmd: ['build', '--lib'] },
];
const sh = (cmd, argv) => {
  const t = Date.now();
  execFileSync(cmd, argv, { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit'] });
  return (Date.now() - t) / 1000;
};
const rows = [];
for (const v of variants) {
  // Clean the crate itself so each variant links from scratch (deps are shared per profile).
  sh('cargo', ['clean', '-p', 'edgewise', '--profile', v.profile, '--target', rt]);
  const secs = sh('cargo', [...v.cmd, '--profile', v.profile, '--target', rt]);
  const raw = path.join(targetDir, rt, v.profile, `${cfg.build.crate}.wasm`);
  const out = path.join(targetDir, 'out', v.profile + v.cmd[0]);
  mkdirSync(out, { recursive: true });
  sh('wasm-bindgen', ['--target', 'web', '--out-dir', out, '--out-name', 'm', raw]);
  const bg = path.join(out, 'm_bg.wasm');
  const bindgen = readFileSync(bg).length;
  sh(path.join(root, 'node_modules/.bin/wasm-opt'), [...cfg.wasm_opt.features, ...cfg.wasm_opt.passes, '-o', bg, bg]);
  const w = readFileSync(bg);
  rows.push({
    variant: v.name,
    cargo_seconds: secs,
    cargo_wasm: readFileSync(raw).length,
    wasm_bindgen: bindgen,
    wasm_opt: w.length,
    gzip: gzipSync(w, { level: 9 }).length,
    brotli: brotliCompressSync(w, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  });
  console.error(`done: ${v.name}`);
}
writeFileSync(path.join(targetDir, 'sizes.json'), JSON.stringify(rows, null, 2));
console.table(rows);
