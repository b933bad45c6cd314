// Latency and throughput of the wasm build (pkg/node) in Node, one thread: cold start, event
// ingestion (track / trackMany, JS↔wasm crossing included), scoring with every bundled model,
// and a page's work end to end (one event, three slots decided). Prints one JSON object.
//   node benches/wasm/node-decide.mjs [--iterations N] [--build full|lite]
// full: pkg/node with the .onnx files; lite: pkg/lite/node with the compiled .ewm.json files.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const iArg = process.argv.indexOf('--iterations');
const N = iArg > 0 ? Number(process.argv[iArg + 1]) : 20_000;
const bArg = process.argv.indexOf('--build');
const build = bArg > 0 ? process.argv[bArg + 1] : 'full';
if (!['full', 'lite'].includes(build)) throw new Error(`--build ${build}: expected full or lite`);

const t0 = performance.now();
const { Engine, version } = createRequire(import.meta.url)(
  path.join(root, build === 'lite' ? 'pkg/lite/node' : 'pkg/node', 'edgewise.js'),
);
const moduleMs = performance.now() - t0;

const config = JSON.parse(readFileSync(path.join(root, 'www/demo/config.json'), 'utf8'));
config.holdout = 0;
const names = ['purchase-lr', 'purchase-gbt', 'churn-mlp'];
const models = names.map((name) =>
  build === 'lite'
    ? { compiled: readFileSync(path.join(root, 'models', `${name}.ewm.json`), 'utf8') }
    : {
        manifest: readFileSync(path.join(root, 'models', `${name}.json`), 'utf8'),
        onnx: new Uint8Array(readFileSync(path.join(root, 'models', `${name}.onnx`))),
      });
const T = 1_700_000_000_000;

function percentiles(samples) {
  samples.sort((a, b) => a - b);
  const q = (p) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))];
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  return { n: samples.length, mean_us: +(mean * 1e3).toFixed(2), p50_us: +(q(0.5) * 1e3).toFixed(2), p99_us: +(q(0.99) * 1e3).toFixed(2), p999_us: +(q(0.999) * 1e3).toFixed(2) };
}

function timeEach(n, fn) {
  for (let i = 0; i < Math.min(1000, n); i++) fn(i); // warm-up
  const s = new Array(n);
  for (let i = 0; i < n; i++) {
    const a = performance.now();
    fn(i);
    s[i] = performance.now() - a;
  }
  return percentiles(s);
}

const c0 = performance.now();
const engine = Engine.create(config, models, { seed: 1, now: T });
engine.setConsent({ personalization: true });
engine.setContext({ device: 'mobile', hour_of_day: 14 });
const createMs = performance.now() - c0;
const first = engine.decide('hero-headline');
const firstDecisionMs = performance.now() - t0;

// A realistic session: 40 events across kinds.
engine.setNow(T + 600_000);
const kinds = [
  { kind: 'page_view' },
  { kind: 'product_view', category: 'shoes', price: 59 },
  { kind: 'scroll', value: 0.5 },
  { kind: 'dwell', value: 12 },
  { kind: 'product_view', category: 'bags', price: 120 },
  { kind: 'add_to_cart', category: 'shoes', price: 59 },
  { kind: 'click' },
  { kind: 'search', query: 'boots' },
];
const session = Array.from({ length: 40 }, (_, i) => ({ ...kinds[i % kinds.length], ts: T + i * 1000 }));
engine.trackMany(session);

const slots = ['hero-headline', 'layout', 'offer'];
// A page: one new event (so every model runs again), then the 3 slots decided, one rewarded.
// The first decide of a page computes the scores; the other two reuse them.
let tick = 0;
const page = timeEach(N, (i) => {
  engine.track({ kind: 'scroll', ts: T + 50_000 + (tick++ % 500_000) * 0.1, value: 0.5 });
  for (const slot of slots) {
    const d = engine.decide(slot);
    if (i % 4 === 0 && slot === 'offer') engine.reward(d.decision_id, i % 8 === 0 ? 1 : 0);
  }
});
// decide() alone when the scores are fresh for this instant (2nd and 3rd slot of a page).
const decideCached = timeEach(N, (i) => engine.decide(slots[i % 3]));
// scores() after a new event: feature extraction + every model.
const scores = timeEach(N, () => {
  engine.track({ kind: 'click', ts: T + 50_000 + (tick++ % 500_000) * 0.1 });
  return engine.scores();
});

// Ingestion: single track calls and batches of 1,000 (the session stays bounded at 512).
const ev = (i) => ({ kind: 'scroll', ts: T + 1_000 + i * 0.01, value: 0.5 });
const trackN = 200_000;
let a = performance.now();
for (let i = 0; i < trackN; i++) engine.track(ev(i));
const trackPerS = trackN / ((performance.now() - a) / 1000);
const batch = Array.from({ length: 1000 }, (_, i) => ev(i));
a = performance.now();
for (let i = 0; i < 200; i++) engine.trackMany(batch);
const trackManyPerS = 200_000 / ((performance.now() - a) / 1000);

console.log(JSON.stringify({
  edgewise: version(),
  build,
  node: process.version,
  models: names,
  cold_start_ms: { module_load: +moduleMs.toFixed(2), create_with_models: +createMs.toFixed(2), import_to_first_decision: +firstDecisionMs.toFixed(2) },
  first_decision_source: first.source,
  page_track_then_decide_3_slots: page,
  decide_with_fresh_scores: decideCached,
  track_then_scores_3_models: scores,
  ingestion_events_per_s: { track: Math.round(trackPerS), trackMany_1000: Math.round(trackManyPerS) },
}, null, 2));
engine.free();
