// The wasm benchmark suite in Node (one thread), side by side with onnxruntime-web in the same
// process: ingestion, decide latency (full and lite), model inference vs ort-web session.run,
// cold start (a fresh process per measurement) and linear memory (a fresh process per build).
//
//   node benches/wasm/suite.mjs [--quick] [--json]
//
// benches/run.mjs runs this with the Chromium half and the sizes, checks the targets and writes
// bench/results.{json,md}. The measuring code is benches/wasm/common.mjs (shared with the
// Chromium page); cold start and memory are benches/wasm/cold-start.mjs and memory.mjs.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { ITERATIONS, MODEL_NAMES, benchControl, benchDecide, benchOrt, compare, median, modelsFor, ortRows, runEngineSuite, runOrtSuite } from './common.mjs';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
const PKG = { full: 'pkg/node', lite: 'pkg/lite/node' };

/** Model files as both builds take them, plus the parsed manifests. */
export function loadModelFiles() {
  const files = {};
  for (const name of MODEL_NAMES) {
    const manifestText = readFileSync(path.join(root, 'models', `${name}.json`), 'utf8');
    files[name] = {
      manifestText,
      manifest: JSON.parse(manifestText),
      onnx: new Uint8Array(readFileSync(path.join(root, 'models', `${name}.onnx`))),
      compiled: readFileSync(path.join(root, 'models', `${name}.ewm.json`), 'utf8'),
    };
  }
  return files;
}

/** The shipped models as `build` takes them: compiled .ewm.json (lite) or manifest + .onnx (full). */
export function engineModels(build) {
  return MODEL_NAMES.map((name) =>
    build === 'lite'
      ? { compiled: readFileSync(path.join(root, 'models', `${name}.ewm.json`), 'utf8') }
      : { manifest: readFileSync(path.join(root, 'models', `${name}.json`), 'utf8'), onnx: new Uint8Array(readFileSync(path.join(root, 'models', `${name}.onnx`))) },
  );
}

/** The demo storefront's engine config (3 slots, SquareCB), without the holdout. */
export function demoConfig() {
  const config = JSON.parse(readFileSync(path.join(root, 'www/demo/config.json'), 'utf8'));
  config.holdout = 0;
  return config;
}

function child(args, { timeout = 120_000 } = {}) {
  const a = performance.now();
  const text = execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'pipe'] });
  const wall = performance.now() - a;
  return { ...JSON.parse(text.trim().split('\n').pop()), process_wall_ms: +wall.toFixed(2) };
}

export async function runNodeSuite({ quick = false, quiet = false } = {}) {
  const it = quick ? ITERATIONS.quick : ITERATIONS.full;
  const log = (m) => quiet || console.error(`node: ${m}`);
  const files = loadModelFiles();
  const config = demoConfig();
  const out = { iterations: it, quick, models: MODEL_NAMES, config: 'www/demo/config.json with holdout 0 (3 slots, SquareCB policy)', builds: {} };

  // First, before any wasm or ort is loaded: what the machine adds to a per-call percentile.
  log('control: a fixed pure-JS workload timed like decide');
  out.control = benchControl({ iterations: it.decide, warmup: it.decideWarm });
  for (const build of ['full', 'lite']) {
    const ew = require(path.join(root, PKG[build], 'edgewise.js'));
    if (ew.build() !== build) throw new Error(`${PKG[build]} says build() = ${ew.build()}`);
    out.builds[build] = { package: PKG[build], ...runEngineSuite(ew, build, files, config, it, log) };
  }

  // onnxruntime-web in this process: wasm backend, one thread, no proxy.
  log('onnxruntime-web');
  const ortVersion = JSON.parse(readFileSync(path.join(root, 'node_modules/onnxruntime-web/package.json'), 'utf8')).version;
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'error';
  const full = require(path.join(root, PKG.full, 'edgewise.js'));
  const rows = ortRows(full, files, config, it);
  out.ort = {
    package: `onnxruntime-web ${ortVersion}`,
    entry: 'import("onnxruntime-web") = dist/ort.node.min.mjs (its Node entry) with the wasm backend, dist/ort-wasm-simd-threaded.{mjs,wasm}',
    ...(await runOrtSuite(ort, full, files, config, it, log, rows)),
  };
  out.comparison = compare(out.builds, out.ort.models);
  log(`side by side: ${it.sideRounds} interleaved rounds of decide (full, lite) and ort session.run`);
  out.side_by_side = await sideBySide(ort, files, config, out.ort.models, rows.rows, it, log);

  // Cold start: a fresh Node process per measurement, one after the other, cases interleaved.
  log(`cold start (${it.cold} fresh processes per case)`);
  const script = path.join(root, 'benches/wasm/cold-start.mjs');
  const cases = { lite: ['lite'], full: ['full'], ort_purchase_lr: ['ort', 'purchase-lr'], ort_all_3: ['ort', ...MODEL_NAMES] };
  const runs = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (let r = 0; r < it.cold; r++) for (const [k, args] of Object.entries(cases)) runs[k].push(child([script, ...args]));
  const med = (k, f) => +median(runs[k].map((x) => x[f])).toFixed(2);
  out.cold_start = {
    repetitions: it.cold,
    method: 'a fresh `node` child per measurement, run sequentially with the cases interleaved; clock (performance.now() in the child) from right before require()/import() of the module; the model files are read from disk inside the span; median of the repetitions; process_wall_ms = spawn to exit seen by the parent (Node boot included), for scale',
    edgewise: Object.fromEntries(
      ['lite', 'full'].map((k) => [
        k,
        {
          import_to_first_decision_ms: med(k, 'total_ms'),
          module_ms: med(k, 'module_ms'),
          create_with_3_models_ms: med(k, 'create_ms'),
          first_decide_ms: med(k, 'first_decide_ms'),
          process_wall_ms: med(k, 'process_wall_ms'),
          what: 'require() of the package (wasm compile + instantiate) + read the 3 model files + Engine.create + setConsent + track(page_view) + first decide (checked: a policy decision carrying 3 scores)',
        },
      ]),
    ),
    ort: Object.fromEntries(
      ['ort_purchase_lr', 'ort_all_3'].map((k) => [
        k,
        {
          import_to_session_ms: med(k, 'import_to_session_ms'),
          import_ms: med(k, 'import_ms'),
          create_ms: med(k, 'create_ms'),
          first_run_ms: med(k, 'first_run_ms'),
          import_to_first_result_ms: med(k, 'import_to_first_result_ms'),
          process_wall_ms: med(k, 'process_wall_ms'),
          what: `import("onnxruntime-web") + read ${k === 'ort_all_3' ? 'the 3 .onnx files + 3 InferenceSession.create' : 'purchase-lr.onnx + InferenceSession.create'} (wasm backend start included); first_run = one session.run after it, not part of import_to_session`,
        },
      ]),
    ),
    runs,
  };

  // Linear memory: a fresh process per build.
  log('linear memory (a fresh process per build)');
  out.memory = {};
  for (const build of ['full', 'lite']) out.memory[build] = child([path.join(root, 'benches/wasm/memory.mjs'), build, '--events', String(it.events)], { timeout: 300_000 });
  return out;
}

/**
 * The decide-vs-ort ratio measured side by side: rounds that run decide (full, then lite) and
 * ort's cheapest model right after each other, so each round's ratio compares the same minute of
 * this shared machine (whose speed for wasm work drifts by up to 2x between minutes); the
 * target reads the median of the per-round ratios.
 */
async function sideBySide(ort, files, config, ortModels, rows, it, log) {
  const ok = Object.values(ortModels).filter((m) => !m.skipped).sort((a, b) => a.run.p50_us - b.run.p50_us);
  if (!ok.length) return { skipped: 'ort ran no model' };
  const name = ok[0].model;
  const ews = Object.fromEntries(['full', 'lite'].map((b) => [b, require(path.join(root, PKG[b], 'edgewise.js'))]));
  const rounds = [];
  for (let r = 0; r < it.sideRounds; r++) {
    const round = {};
    for (const b of ['full', 'lite']) {
      const d = benchDecide(ews[b], config, modelsFor(b, files), { iterations: it.sideDecide, warmup: it.sideWarm, seed: 7 + r });
      round[b] = { p50_us: d.p50_us, p99_us: d.p99_us };
    }
    const o = await benchOrt(ort, name, files[name].onnx, files[name].manifest, rows, files[name].manifest.score, { iterations: it.sideOrt, warmup: it.ortWarm });
    if (o.skipped) return { skipped: o.reason };
    round.ort = { p50_us: o.run.p50_us, p99_us: o.run.p99_us };
    for (const b of ['full', 'lite']) round[b].ratio = +(o.run.p50_us / round[b].p50_us).toFixed(2);
    rounds.push(round);
    log(`side by side ${r + 1}: decide full ${round.full.p50_us} µs, lite ${round.lite.p50_us} µs, ort ${name} ${o.run.p50_us} µs`);
  }
  const med = (xs) => +median(xs).toFixed(2);
  return {
    model: name,
    method: `${it.sideRounds} rounds, each: decide(slot, false) after a new event x ${it.sideDecide} on full, then on lite (as in decide above), then ort session.run of ${name} (ort's cheapest model in the main run; a new session each round) x ${it.sideOrt}; warm-up: ${it.sideWarm} decides, ${it.ortWarm} runs; ratio = ort p50 / decide p50 within the round`,
    rounds,
    median: Object.fromEntries(['full', 'lite'].map((b) => [b, { ratio: med(rounds.map((x) => x[b].ratio)), decide_p50_us: med(rounds.map((x) => x[b].p50_us)), decide_p99_us: med(rounds.map((x) => x[b].p99_us)) }])),
    ort_p50_us: med(rounds.map((x) => x.ort.p50_us)),
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const res = await runNodeSuite({ quick: process.argv.includes('--quick') });
  if (process.argv.includes('--json')) console.log(JSON.stringify(res, null, 2));
  else {
    const { printNode } = await import('../report.mjs');
    printNode(res);
  }
}
