// The bake-off protocol (Bietti, Agarwal & Langford, JMLR 2021) run by the wasm build in Node:
// the same Rust loop as `edgewise bakeoff` (src/eval.rs), compiled with the shipped profile
// (wasm-s, wasm-opt -Oz) into the non-shipped `bench` variant (pkg/bench/node:
// `node scripts/build.mjs --variants bench`). Prints one JSON object like the native CLI's:
//   node benches/wasm/bakeoff.mjs --data FILE.csv --policy NAME [--seed N]
// {"n", "progressive_reward", "seconds", "rows_per_s", "policy", "seed", "runtime": "wasm-node"}
// Timed with performance.now around one pass (module load and CSV parsing excluded, as in the
// native CLI). `cold` is the first pass in a fresh process: V8 compiles the wasm lazily (Liftoff
// first, TurboFan once a function is hot), so on a small file much of it runs unoptimized code.
// `warm` (the reported rows_per_s) is the median of 5 further passes of the same seed, what a
// long-lived page or edge isolate sees; every pass gives the same progressive reward.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const fail = (msg, code = 2) => {
  process.stderr.write(`bakeoff.mjs: ${msg}\n`);
  process.exit(code);
};
const data = arg('data') ?? fail('needs --data FILE.csv');
const policy = arg('policy') ?? fail('needs --policy NAME');
const seed = Number(arg('seed', '1'));
if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) fail(`--seed ${arg('seed')}: expected 0..4294967295`);

const pkg = path.join(root, 'pkg/bench/node/edgewise.js');
let BakeoffData;
try {
  ({ BakeoffData } = createRequire(import.meta.url)(pkg));
} catch (e) {
  fail(`cannot load ${pkg} (build it: node scripts/build.mjs --variants bench): ${e.message}`, 1);
}
let text;
try {
  text = readFileSync(data, 'utf8');
} catch (e) {
  fail(`cannot read ${data}: ${e.message}`, 1);
}
let ds;
try {
  ds = new BakeoffData(text);
} catch (e) {
  fail(`${data}: ${e.message}`, 1);
}
const pass = () => {
  const t0 = performance.now();
  const r = ds.run(policy, seed, 0);
  return { r, seconds: (performance.now() - t0) / 1000 };
};
const cold = pass();
const warm = [1, 2, 3, 4, 5].map(pass);
for (const w of warm) {
  if (w.r.progressive_reward !== cold.r.progressive_reward) fail('passes with the same seed disagree', 1);
}
const seconds = warm.map((w) => w.seconds).sort((a, b) => a - b)[2];
const r = cold.r;
console.log(
  JSON.stringify({
    ...r,
    seconds,
    rows_per_s: r.n / seconds,
    cold_seconds: cold.seconds,
    cold_rows_per_s: r.n / cold.seconds,
    policy,
    seed,
    runtime: 'wasm-node',
  }),
);
