// The measurements shared by the Node suite (benches/wasm/suite.mjs) and the Chromium page
// (benches/wasm/browser/page.mjs): the same code times the same things in both places. No Node
// imports here; `performance.now()` is the clock in both.
//
// Every timed call is checked: decisions must carry a variant and the scores of every model,
// batches must be accepted whole, onnxruntime-web must return a finite probability that agrees
// with our score for the same feature vector. A failed check throws: nothing is reported from
// an error path.

export const T0 = 1_700_000_000_000; // engine clock origin (ms since the epoch)
export const NOW = T0 + 3_600_000; // the fixed "now" the engines run at (setNow)
export const MODEL_NAMES = ['purchase-lr', 'purchase-gbt', 'churn-mlp'];
export const SLOTS = ['hero-headline', 'layout', 'offer'];

const clock = () => performance.now();

/** Nearest-rank percentiles of per-call samples in ms, reported in µs. */
export function summarize(samplesMs) {
  const s = Float64Array.from(samplesMs).sort();
  const n = s.length;
  const q = (p) => s[Math.min(n - 1, Math.floor(p * n))] * 1e3;
  let sum = 0;
  for (const x of s) sum += x;
  // Mean of the samples up to the p99: robust to GC pauses, and unbiased under Chromium's
  // jittered 5 µs clock (where a median of whole steps is not).
  const k = Math.max(1, Math.min(n, Math.floor(0.99 * n) + 1));
  let tsum = 0;
  for (let i = 0; i < k; i++) tsum += s[i];
  const r = (x) => +x.toFixed(2);
  return { n, mean_us: r((sum / n) * 1e3), trimmed_mean_us: r((tsum / k) * 1e3), p50_us: r(q(0.5)), p99_us: r(q(0.99)), p999_us: r(q(0.999)), min_us: r(s[0] * 1e3), max_us: r(s[n - 1] * 1e3) };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Smallest non-zero step of the clock (Chromium coarsens performance.now()). */
export function clockResolutionUs() {
  let best = Infinity;
  for (let i = 0; i < 2000; i++) {
    const a = clock();
    let b = clock();
    while (b === a) b = clock();
    best = Math.min(best, b - a);
  }
  return +(best * 1e3).toFixed(3);
}

/** mulberry32: a small seeded PRNG so every run sees the same sessions. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// The ingestion mix: numeric events only, so the row and the columnar forms carry exactly the
// same events (kind, ts, value, price).
const INGEST_MIX = [
  { kind: 'page_view' },
  { kind: 'product_view', price: 59 },
  { kind: 'scroll', value: 0.5 },
  { kind: 'dwell', value: 12 },
  { kind: 'product_view', price: 120 },
  { kind: 'add_to_cart', price: 59 },
  { kind: 'click' },
  { kind: 'scroll', value: 0.75 },
];
export const INGEST_MIX_DESCRIPTION =
  'numeric events cycling page_view, product_view(price), scroll(value), dwell(value), product_view(price), add_to_cart(price), click, scroll(value)';

export function ingestEvents(n) {
  return Array.from({ length: n }, (_, i) => ({ ...INGEST_MIX[i % INGEST_MIX.length], ts: T0 + 1 + i * 0.01 }));
}

/** The same events as a columnar batch (codes in eventKinds() order, NaN = absent). */
export function toColumns(events, kinds) {
  const n = events.length;
  const cols = { kind: new Uint8Array(n), ts: new Float64Array(n), value: new Float64Array(n), price: new Float64Array(n) };
  events.forEach((e, i) => {
    const code = kinds.indexOf(e.kind);
    if (code < 0) throw new Error(`eventKinds() has no "${e.kind}"`);
    cols.kind[i] = code;
    cols.ts[i] = e.ts;
    cols.value[i] = e.value ?? NaN;
    cols.price[i] = e.price ?? NaN;
  });
  return cols;
}

// Events for realistic sessions (feature rows, decide workload, memory): every kind.
const CATEGORIES = ['shoes', 'bags', 'dresses', 'accessories'];
export function sessionEvent(r, ts) {
  const x = r();
  const cat = CATEGORIES[Math.floor(r() * CATEGORIES.length)];
  const price = Math.round(10 + r() * 190);
  if (x < 0.2) return { kind: 'page_view', ts };
  if (x < 0.45) return { kind: 'product_view', category: cat, price, item_id: `sku-${Math.floor(r() * 500)}`, ts };
  if (x < 0.55) return { kind: 'scroll', value: Math.round(r() * 4) / 4, ts };
  if (x < 0.63) return { kind: 'dwell', value: Math.round(r() * 60), ts };
  if (x < 0.73) return { kind: 'click', ts };
  if (x < 0.79) return { kind: 'search', query: ['boots', 'tent', 'jacket', 'lamp'][Math.floor(r() * 4)], ts };
  if (x < 0.88) return { kind: 'add_to_cart', category: cat, price, item_id: `sku-${Math.floor(r() * 500)}`, ts };
  if (x < 0.93) return { kind: 'remove_from_cart', category: cat, price, ts };
  if (x < 0.97) return { kind: 'checkout_start', ts };
  return { kind: 'purchase', price, ts };
}

/** An engine as a page has it: consent given, context set, clock fixed. */
export function createEngine(ew, config, models, seed = 1) {
  const engine = ew.Engine.create(config, models, { seed, now: T0 });
  engine.setConsent({ personalization: true, storage: true, measurement: true });
  engine.setContext({ device: 'mobile', hour_of_day: 14 });
  engine.setNow(NOW);
  return engine;
}

/** A config with one slot, two variants and no rules: for timing scores() per model. */
export const MINIMAL_CONFIG = {
  version: 1,
  holdout: 0,
  slots: [{ id: 's', default: 'a', variants: [{ id: 'a', kind: 'copy', content: 'A' }, { id: 'b', kind: 'copy', content: 'B' }] }],
};

// Runs fn (which returns how many events it recorded) for warmupMs, then `rounds` rounds of at
// least roundMs each; events/s per round.
function measureRate(fn, { rounds, roundMs, warmupMs }) {
  let a = clock();
  while (clock() - a < warmupMs) fn();
  const perRound = [];
  let calls = 0;
  for (let r = 0; r < rounds; r++) {
    let events = 0;
    a = clock();
    let el = 0;
    do {
      events += fn();
      calls++;
      el = clock() - a;
    } while (el < roundMs);
    perRound.push(events / (el / 1e3));
  }
  return {
    median_events_per_s: Math.round(median(perRound)),
    best_events_per_s: Math.round(Math.max(...perRound)),
    rounds_events_per_s: perRound.map(Math.round),
    calls,
  };
}

/**
 * Ingestion: single `track(obj)` calls, `trackMany(array of 1,000 objects)`, and the columnar
 * `trackMany({kind, ts, value, price})` when the module exports eventKinds().
 */
export function benchIngestion(ew, config, models, { batch = 1000, rounds = 5, roundMs = 250, warmupMs = 250 } = {}) {
  const engine = createEngine(ew, config, models);
  const events = ingestEvents(batch);
  const opts = { rounds, roundMs, warmupMs };
  const check = (r) => {
    if (!r || r.accepted !== batch || r.rejected_count !== 0) throw new Error(`trackMany accepted ${r?.accepted} of ${batch}: ${JSON.stringify(r?.rejected?.[0])}`);
  };
  const out = {
    batch,
    mix: INGEST_MIX_DESCRIPTION,
    method: `warm-up ${warmupMs} ms, then ${rounds} rounds of >= ${roundMs} ms; events/s = events recorded / wall time of the round (JS->wasm crossing included); median of rounds reported; every trackMany report checked (accepted === ${batch}, rejected_count === 0); track() throws on a rejected event`,
  };
  out.track = measureRate(() => {
    for (let i = 0; i < batch; i++) engine.track(events[i]);
    return batch;
  }, opts);
  out.trackMany_objects = measureRate(() => {
    check(engine.trackMany(events));
    return batch;
  }, opts);
  if (typeof ew.eventKinds === 'function') {
    const cols = toColumns(events, ew.eventKinds());
    // The columnar batch must record the same events as the objects: same session, same scores.
    const a = createEngine(ew, config, models, 2);
    const b = createEngine(ew, config, models, 2);
    check(a.trackMany(events));
    check(b.trackMany(cols));
    const sa = JSON.stringify([a.state().events, a.state().total_events, a.scores()]);
    const sb = JSON.stringify([b.state().events, b.state().total_events, b.scores()]);
    a.free();
    b.free();
    if (sa !== sb) throw new Error(`columnar trackMany is not equivalent to the objects: ${sa} vs ${sb}`);
    out.columnar_equivalence = 'checked: one batch each way into two fresh engines gives the same session length and the same scores';
    out.trackMany_columnar = measureRate(() => {
      check(engine.trackMany(cols));
      return batch;
    }, opts);
    out.event_kinds = ew.eventKinds();
  } else {
    out.trackMany_columnar = null;
    out.trackMany_columnar_note = 'eventKinds() is not exported by this build: the columnar trackMany form is absent';
  }
  const st = engine.state();
  out.session_after = { events_in_window: st.events, total_events: st.total_events };
  engine.free();
  return out;
}

function checkDecision(d, slot, nModels) {
  if (!d || typeof d.variant_id !== 'string' || d.variant_id === '' || d.slot !== slot) throw new Error(`decide(${slot}) returned no variant: ${JSON.stringify(d)}`);
  if (['error', 'no_consent', 'holdout'].includes(d.source)) throw new Error(`decide(${slot}) took the ${d.source} path: ${JSON.stringify(d.reasons)}`);
  const s = d.scores ?? {};
  const vals = Object.values(s);
  if (vals.length !== nModels || !vals.every((v) => Number.isFinite(v) && v >= 0 && v <= 1)) throw new Error(`decide(${slot}) scores ${JSON.stringify(s)}: expected ${nModels} finite probabilities`);
}

/**
 * decide() latency with fresh scores: before each timed decide one new event is tracked
 * (untimed), so features, all models and the bandit run inside the timed call.
 */
export function benchDecide(ew, config, models, { iterations = 20_000, warmup = 2_000, prefill = 40, seed = 7, explain = false } = {}) {
  const engine = createEngine(ew, config, models, seed);
  const r = rng(seed);
  let ts = T0 + 1_000;
  for (let i = 0; i < prefill; i++) engine.track(sessionEvent(r, (ts += 1)));
  const samples = new Float64Array(iterations);
  const sources = {};
  let rewards = 0;
  for (let i = 0; i < warmup + iterations; i++) {
    engine.track(sessionEvent(r, (ts += 0.001)));
    const slot = SLOTS[i % SLOTS.length];
    const a = clock();
    const d = engine.decide(slot, explain);
    const t = clock() - a;
    checkDecision(d, slot, models.length);
    if (explain && d.reasons.length === 0) throw new Error(`decide(${slot}, true) gave no reasons`);
    if (i >= warmup) {
      samples[i - warmup] = t;
      sources[d.source] = (sources[d.source] ?? 0) + 1;
    }
    if (i % 4 === 0) {
      engine.reward(d.decision_id, i % 8 === 0 ? 1 : 0);
      rewards++;
    }
  }
  const st = engine.state();
  engine.free();
  return {
    ...summarize(samples),
    warmup,
    sources,
    rewards_given: rewards,
    session_events_in_window: st.events,
    method: `per call: track(1 new event, untimed) then decide(slot, ${explain}) timed alone (${explain ? 'with the reasons sentences and the arms table' : 'the rendering path of the script include and the worker: no reasons sentences or arms table'}), slots rotating ${SLOTS.join('/')}; ${warmup} warm-up iterations untimed; every 4th decision rewarded (untimed); each decision checked: a variant, not error/no_consent/holdout, ${models.length} finite scores`,
  };
}

/**
 * The machine's own tail: a fixed pure-JS workload (no wasm, no allocation) of about a decide's
 * length, timed per call like decide. Its p50 → p99 spread is what this machine adds to any
 * per-call percentile (timer ticks, the hypervisor), not what the code under test does.
 */
export function benchControl({ iterations = 20_000, warmup = 2_000, length = 600 } = {}) {
  const xs = new Float64Array(length).map((_, i) => i * 0.5);
  const work = () => {
    let s = 0;
    for (let k = 0; k < 3; k++) for (let i = 0; i < xs.length; i++) s += Math.sqrt(xs[i] + k);
    return s;
  };
  const samples = new Float64Array(iterations);
  let sink = 0;
  for (let i = 0; i < warmup + iterations; i++) {
    const a = clock();
    sink += work();
    const t = clock() - a;
    if (i >= warmup) samples[i - warmup] = t;
  }
  if (!(sink > 0)) throw new Error('control workload gave no result');
  return {
    ...summarize(samples),
    method: `a fixed pure-JS loop (3 x ${length} sqrt-adds, no allocation) timed per call like decide; ${warmup} warm-up calls`,
  };
}

/**
 * scores() latency: after a new event (untimed) scores() recomputes features + every model;
 * without one it returns the cached scores. `config` null = MINIMAL_CONFIG.
 */
export function benchScores(ew, config, models, { iterations = 10_000, warmup = 1_000, seed = 11, cached = false } = {}) {
  const engine = createEngine(ew, config ?? MINIMAL_CONFIG, models, seed);
  const r = rng(seed);
  let ts = T0 + 1_000;
  for (let i = 0; i < 40; i++) engine.track(sessionEvent(r, (ts += 1)));
  const samples = new Float64Array(iterations);
  for (let i = 0; i < warmup + iterations; i++) {
    if (!cached) engine.track(sessionEvent(r, (ts += 0.001)));
    const a = clock();
    const s = engine.scores();
    const t = clock() - a;
    const vals = Object.values(s);
    if (vals.length !== models.length || !vals.every(Number.isFinite)) throw new Error(`scores() returned ${JSON.stringify(s)} for ${models.length} models`);
    if (i >= warmup) samples[i - warmup] = t;
  }
  engine.free();
  return summarize(samples);
}

/**
 * Our engine's own feature vectors: the contextual policy keeps [features of the first model,
 * every score] with each pending decision, and exportProfile() shows it. Returns
 * {width, rows: [{features, scores: {score_name: p}}]} from varied sessions.
 */
export function collectFeatureRows(ew, config, models, scoreNames, { n = 256, seed = 3 } = {}) {
  const r = rng(seed);
  const rows = [];
  const devices = ['mobile', 'desktop', 'tablet'];
  let width = null;
  for (let s = 0; rows.length < n; s++) {
    const engine = createEngine(ew, config, models, seed + s);
    engine.setContext({ device: devices[s % 3], hour_of_day: Math.floor(r() * 24) });
    let ts = T0 + 1_000;
    const len = 1 + Math.floor(r() * 60);
    for (let i = 0; i < len && rows.length < n; i++) {
      engine.track(sessionEvent(r, (ts += 1 + r() * 20_000)));
      if (r() < 0.3) continue;
      const slot = SLOTS[Math.floor(r() * SLOTS.length)];
      const d = engine.decide(slot);
      checkDecision(d, slot, models.length);
      const p = engine.exportProfile().pending_decisions.find((x) => x.decision_id === d.decision_id);
      if (!p || !Array.isArray(p.context)) throw new Error('exportProfile() has no context for the decision (is the policy contextual?)');
      if (p.context.length === 0) continue; // decided by the rules alone (one eligible variant): the policy saw nothing
      const w = p.context.length - models.length;
      if (width === null) width = w;
      if (w !== width) throw new Error(`context width ${w} != ${width}`);
      const scores = {};
      scoreNames.forEach((name, k) => (scores[name] = p.context[w + k]));
      for (const name of scoreNames) {
        if (Math.abs(scores[name] - d.scores[name]) > 1e-6) throw new Error(`context score ${name} ${scores[name]} != decision score ${d.scores[name]}`);
      }
      rows.push({ features: p.context.slice(0, w), scores });
    }
    engine.free();
  }
  return { width, rows };
}

/**
 * onnxruntime-web on one model: InferenceSession.create, then session.run at batch 1 on our
 * feature rows. Checks each output is a finite probability and, on every row, that it agrees
 * with our score for that row.
 */
export async function benchOrt(ort, name, bytes, manifest, rows, scoreName, { iterations = 5_000, warmup = 500 } = {}) {
  let session;
  const a = clock();
  try {
    session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  } catch (e) {
    return { model: name, skipped: true, reason: `onnxruntime-web could not load it: ${e.message}` };
  }
  const createMs = clock() - a;
  const input = manifest.input;
  const output = manifest.output;
  const idx = manifest.class_index ?? 0;
  const tensors = rows.map((row) => new ort.Tensor('float32', Float32Array.from(row.features), [1, row.features.length]));
  const pick = (res) => {
    const t = res[output];
    if (!t) throw new Error(`${name}: no output ${output}`);
    const p = Number(t.data[idx]);
    if (!(Number.isFinite(p) && p >= 0 && p <= 1)) throw new Error(`${name}: output ${output}[${idx}] = ${p} is not a probability`);
    return p;
  };
  let maxDiff = 0;
  try {
    for (let i = 0; i < rows.length; i++) {
      const p = pick(await session.run({ [input]: tensors[i] }, [output]));
      maxDiff = Math.max(maxDiff, Math.abs(p - rows[i].scores[scoreName]));
    }
  } catch (e) {
    await session.release?.();
    return { model: name, skipped: true, reason: `onnxruntime-web could not run it: ${e.message}` };
  }
  const samples = new Float64Array(iterations);
  for (let i = 0; i < warmup + iterations; i++) {
    const feeds = { [input]: tensors[i % tensors.length] };
    const t0 = clock();
    const res = await session.run(feeds, [output]);
    const t = clock() - t0;
    pick(res);
    if (i >= warmup) samples[i - warmup] = t;
  }
  await session.release?.();
  return {
    model: name,
    create_ms: +createMs.toFixed(2),
    run: summarize(samples),
    parity_rows: rows.length,
    parity_max_abs_diff_vs_edgewise: maxDiff,
    fetch: `${output}[${idx}]`,
    method: `await session.run({${input}: [1, ${rows[0].features.length}] float32 tensor}, ['${output}']) timed per call (tensor created beforehand; the await included), cycling ${rows.length} feature rows taken from our engine; ${warmup} warm-up runs; every output checked finite in [0, 1]`,
  };
}

/** Model bytes/text as each build takes them; files[name] = {manifestText, onnx, compiled}. */
export function modelsFor(build, files, names = MODEL_NAMES) {
  return names.map((n) => (build === 'lite' ? { compiled: files[n].compiled } : { manifest: files[n].manifestText, onnx: files[n].onnx }));
}

/** Iteration counts: the full run, and --quick for trying the harness (not for numbers). */
export const ITERATIONS = {
  full: { decide: 20_000, decideWarm: 2_000, scores: 10_000, scoresWarm: 1_000, ort: 5_000, ortWarm: 500, rounds: 5, roundMs: 250, rows: 256, cold: 5, events: 1_000_000, sideRounds: 8, sideDecide: 3_000, sideOrt: 1_000, sideWarm: 300 },
  quick: { decide: 2_000, decideWarm: 300, scores: 1_000, scoresWarm: 200, ort: 500, ortWarm: 100, rounds: 2, roundMs: 100, rows: 64, cold: 2, events: 100_000, sideRounds: 2, sideDecide: 500, sideOrt: 200, sideWarm: 100 },
};

/** Ingestion, decide and scores() for one build (module `ew`). */
export function runEngineSuite(ew, build, files, config, it, log = () => {}) {
  const models = modelsFor(build, files);
  const out = {
    version: ew.version(),
    exports_eventKinds: typeof ew.eventKinds === 'function',
    exports_memoryBytes: typeof ew.memoryBytes === 'function',
    model_format: build === 'lite' ? 'compiled .ewm.json' : '.onnx + manifest (compiled at load)',
  };
  log(`${build}: ingestion`);
  out.ingestion = benchIngestion(ew, config, models, { rounds: it.rounds, roundMs: it.roundMs });
  log(`${build}: decide x ${it.decide}`);
  out.decide = benchDecide(ew, config, models, { iterations: it.decide, warmup: it.decideWarm });
  log(`${build}: decide (explained) x ${it.decide}`);
  out.decide_explained = benchDecide(ew, config, models, { iterations: it.decide, warmup: it.decideWarm, explain: true });
  log(`${build}: scores()`);
  const sopt = { iterations: it.scores, warmup: it.scoresWarm };
  out.scores = {
    method: `per call: track(1 new event, untimed) then scores() timed alone (features + every model of the engine + the JS result object); "cached" = scores() with no new event (no recompute); per_model = an engine holding only that model, without_model = an engine holding the other two, no_model = none, all on a one-slot config without rules; ${it.scoresWarm} warm-up calls`,
    three_models_demo_config: benchScores(ew, config, models, sopt),
    three_models_cached: benchScores(ew, config, models, { ...sopt, cached: true }),
    no_model: benchScores(ew, MINIMAL_CONFIG, [], sopt),
    three_models_minimal_config: benchScores(ew, MINIMAL_CONFIG, models, sopt),
    per_model: Object.fromEntries(MODEL_NAMES.map((n) => [n, benchScores(ew, MINIMAL_CONFIG, modelsFor(build, files, [n]), sopt)])),
    without_model: Object.fromEntries(MODEL_NAMES.map((n) => [n, benchScores(ew, MINIMAL_CONFIG, modelsFor(build, files, MODEL_NAMES.filter((m) => m !== n)), sopt)])),
  };
  return out;
}

/** The feature vectors (and our scores) that ort is fed: from our `full` engine (module `ewFull`). */
export function ortRows(ewFull, files, config, it) {
  const scoreNames = MODEL_NAMES.map((n) => files[n].manifest.score);
  return collectFeatureRows(ewFull, config, modelsFor('full', files), scoreNames, { n: it.rows });
}

/** onnxruntime-web on the 3 models, fed `rows` (default: `ortRows` of our `full` engine). */
export async function runOrtSuite(ort, ewFull, files, config, it, log = () => {}, rows = ortRows(ewFull, files, config, it)) {
  const out = {
    env: { 'wasm.numThreads': ort.env.wasm.numThreads, 'wasm.proxy': ort.env.wasm.proxy, executionProviders: ['wasm'] },
    inputs: `${rows.rows.length} feature vectors of width ${rows.width} taken from our engine (the contextual policy's context of each decision: exportProfile().pending_decisions[].context = [features of the first model, every score]) over varied simulated sessions, with our scores for them`,
    models: {},
  };
  for (const name of MODEL_NAMES) {
    log(`onnxruntime-web ${name}`);
    out.models[name] = await benchOrt(ort, name, files[name].onnx, files[name].manifest, rows.rows, files[name].manifest.score, { iterations: it.ort, warmup: it.ortWarm });
  }
  return out;
}

/**
 * The ratios asked for, from the measured numbers: their time / our time (> 1: we are faster).
 * `stat` is the typical-latency statistic compared: p50_us in Node; trimmed_mean_us in Chromium,
 * whose performance.now() moves in jittered 5 µs steps. p99 ratios are given too.
 */
export function compare(builds, ortModels, stat = 'p50_us') {
  const c = {
    note: `ratio = their time / our time (> 1: we are faster); typical latency = ${stat}; *_p99 = the p99s`,
    stat,
    what_was_timed: {
      ort_run: 'one await session.run() at batch 1 on a feature vector from our engine, fetching only the probability output',
      ours_scores_one_model: 'scores() after a new event on an engine holding only that model: feature extraction + that model + wasm<->JS crossing + result object',
      ours_features_plus_model: 'the same minus scores() on an engine with no model (crossing + empty result): feature extraction + that model',
      ours_model_marginal: `the model's own inference: ${stat} of scores() with all 3 models minus that of scores() with the other 2 (same features, same crossing); a difference of two statistics, so values of a few µs are noisy`,
      ours_decide: 'decide() after a new event on the demo config with all 3 models: features + 3 models + rules + SquareCB bandit + decision object',
    },
  };
  const r2 = (x) => +x.toFixed(2);
  const ratio = (a, b) => (b > 0 ? r2(a / b) : null);
  for (const [build, b] of Object.entries(builds)) {
    const per = {};
    for (const [name, o] of Object.entries(ortModels)) {
      if (o.skipped) {
        per[name] = { skipped: o.reason };
        continue;
      }
      const ours = b.scores.per_model[name];
      const step = ours[stat] - b.scores.no_model[stat];
      const marginal = b.scores.three_models_minimal_config[stat] - b.scores.without_model[name][stat];
      per[name] = {
        ort_run_us: o.run[stat],
        ort_run_p99_us: o.run.p99_us,
        ours_scores_one_model_us: ours[stat],
        ours_scores_one_model_p99_us: ours.p99_us,
        ratio_vs_scores_one_model: ratio(o.run[stat], ours[stat]),
        ratio_p99_vs_scores_one_model: ratio(o.run.p99_us, ours.p99_us),
        ours_features_plus_model_us: r2(step),
        ratio_vs_features_plus_model: ratio(o.run[stat], step),
        ours_model_marginal_us: r2(marginal),
        ratio_vs_model_marginal: ratio(o.run[stat], marginal),
        ours_decide_us: b.decide[stat],
        ours_decide_p99_us: b.decide.p99_us,
        ratio_vs_decide: ratio(o.run[stat], b.decide[stat]),
        ratio_p99_vs_decide: ratio(o.run.p99_us, b.decide.p99_us),
      };
    }
    c[build] = { per_model: per, three_models_scores_div3_us: r2(b.scores.three_models_demo_config[stat] / 3) };
  }
  return c;
}
