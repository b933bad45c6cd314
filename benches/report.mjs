// Turns the bench results into console tables, the target verdicts and bench/results.md.
// Used by benches/run.mjs (and benches/wasm/suite.mjs when run alone).
import { MODEL_NAMES } from './wasm/common.mjs';

const int = (x) => (x == null ? '—' : Math.round(x).toLocaleString('en-US'));
const us = (x) => (x == null ? '—' : x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : Math.round(x).toLocaleString('en-US'));
const ms = (x) => (x == null ? '—' : x.toFixed(1));
const ratio = (x) => (x == null ? '—' : `${x.toFixed(x < 10 ? 2 : 1)}×`);
const lat = (s) => (s ? `${us(s.p50_us)} / ${us(s.p99_us)} / ${us(s.p999_us)}` : '—');

/** The best trackMany form of a build (columnar when present and faster). */
export function bestTrackMany(ing) {
  const forms = [['objects', ing.trackMany_objects], ['columnar', ing.trackMany_columnar]].filter(([, v]) => v);
  forms.sort((a, b) => b[1].median_events_per_s - a[1].median_events_per_s);
  return { form: forms[0][0], events_per_s: forms[0][1].median_events_per_s };
}

/** The cheapest onnxruntime-web model (smallest typical session.run), for "the same model alone". */
function cheapestOrt(ortModels, stat) {
  const ok = Object.values(ortModels).filter((m) => !m.skipped);
  ok.sort((a, b) => a.run[stat] - b.run[stat]);
  return ok[0];
}

/**
 * The issue's targets. Units are decimal (KB = 1,000 B, MB = 1,000,000 B): the stricter reading.
 */
export function evaluateTargets(r) {
  const t = [];
  const add = (name, measured, limit, pass, detail) => t.push({ target: name, measured, limit, pass: !!pass, detail });
  const node = r.node;
  for (const build of ['full', 'lite']) {
    const b = node.builds[build];
    const best = bestTrackMany(b.ingestion);
    add(`ingestion via trackMany, Node wasm, ${build} (best form: ${best.form})`, `${int(best.events_per_s)} events/s`, '>= 5,000,000 events/s', best.events_per_s >= 5_000_000,
      b.ingestion.trackMany_columnar ? null : 'columnar form absent in this build (no eventKinds()): objects only');
  }
  for (const build of ['full', 'lite']) {
    const d = node.builds[build].decide;
    add(`decide p99, Node wasm, ${build} (decide(slot, false): 3 models + bandit, fresh scores)`, `${us(d.p99_us)} µs`, '<= 20 µs', d.p99_us <= 20);
  }
  for (const build of ['full', 'lite']) {
    const d = node.builds[build].decide;
    const o = cheapestOrt(node.ort.models, 'p50_us');
    const one = o ? o.run.p50_us / d.p50_us : null;
    const sb = node.side_by_side;
    if (sb && !sb.skipped) {
      // The median of ratios measured within interleaved rounds (see sideBySide in suite.mjs).
      const m = sb.median[build];
      const rs = sb.rounds.map((r) => r[build].ratio);
      add(`decide vs onnxruntime-web session.run alone, Node, ${build} (p50 vs p50 within each of ${sb.rounds.length} interleaved rounds, median; ort's cheapest model: ${sb.model})`,
        `${ratio(m.ratio)} (rounds ${ratio(Math.min(...rs))}–${ratio(Math.max(...rs))}; medians: ort ${us(sb.ort_p50_us)} µs, decide ${us(m.decide_p50_us)} µs; the one-block run above: ${one == null ? '—' : ratio(one)})`, '>= 5×', m.ratio >= 5);
    } else {
      add(`decide vs onnxruntime-web session.run alone, Node, ${build} (p50 vs p50; ort's cheapest model: ${o?.model})`, one == null ? 'ort ran no model' : `${ratio(one)} (ort ${us(o.run.p50_us)} µs / decide ${us(d.p50_us)} µs; p99: ${ratio(o.run.p99_us / d.p99_us)})`, '>= 5×', one != null && one >= 5);
    }
  }
  {
    const lite = node.cold_start.edgewise.lite.import_to_first_decision_ms;
    const o = node.cold_start.ort.ort_purchase_lr.import_to_session_ms;
    add('cold start to first decision, lite, vs onnxruntime-web import + InferenceSession.create (purchase-lr), fresh Node processes, medians', `${ms(lite)} ms vs ${ms(o)} ms = ${(lite / o).toFixed(3)}`, '<= 1/3 (0.333)', lite <= o / 3);
  }
  for (const build of ['full', 'lite']) {
    const m = node.memory[build];
    add(`linear memory, ${build}: 3 models + ${int(m.events)} events + ${int(m.session.decisions)} decisions + snapshot`, `${int(m.after_session)} B${m.api_memoryBytes_present ? '' : ' (memoryBytes() absent: read from the web glue\'s initSync() exports)'}`, '<= 8,000,000 B', m.after_session <= 8_000_000);
  }
  const g = r.sizes.groups;
  add('size lite web build, wasm + JS glue, brotli', `${int(g.lite.brotli)} B`, '<= 400,000 B', g.lite.brotli <= 400_000);
  add('size full web build, wasm + JS glue, brotli', `${int(g.full.brotli)} B`, '<= 1,000,000 B', g.full.brotli <= 1_000_000);
  add('size script include pkg/www/edgewise.js, gzip', `${int(g.include.gzip)} B`, '<= 8,000 B', g.include.gzip <= 8_000);
  return t;
}

export function printTargets(targets, log = console.log) {
  log('\nTargets (KB/MB decimal)');
  for (const x of targets) log(`  [${x.pass ? 'PASS' : 'MISS'}] ${x.target}: ${x.measured} (target ${x.limit})${x.detail ? ` — ${x.detail}` : ''}`);
  const miss = targets.filter((x) => !x.pass).length;
  log(miss ? `\n${miss} of ${targets.length} targets missed` : `\nall ${targets.length} targets met`);
}

function engineTable(env, res, log) {
  const b = res.builds;
  log(`\n${env}: latency in µs (p50 / p99 / p99.9)${res.clock_resolution_us ? `; clock step ${res.clock_resolution_us} µs` : ''}`);
  const row = (label, f) => log(`  ${label.padEnd(58)}${MODEL_NAMES.length && ['full', 'lite'].map((k) => (b[k] ? f(b[k]) : '—').padEnd(26)).join('')}`);
  log(`  ${''.padEnd(58)}${'full'.padEnd(26)}lite`);
  row('decide(slot, false) after a new event (3 models+bandit)', (x) => lat(x.decide));
  row('decide(slot) with reasons + arms', (x) => (x.decide_explained ? lat(x.decide_explained) : '—'));
  row('scores() after a new event, 3 models', (x) => lat(x.scores.three_models_demo_config));
  row('scores() with no new event (cached)', (x) => lat(x.scores.three_models_cached));
  for (const n of MODEL_NAMES) row(`scores() after a new event, only ${n}`, (x) => lat(x.scores.per_model[n]));
  for (const n of MODEL_NAMES) {
    const o = res.ort.models[n];
    log(`  ${`onnxruntime-web session.run, ${n}`.padEnd(58)}${o.skipped ? `skipped: ${o.reason}` : `${lat(o.run)}   (create ${ms(o.create_ms)} ms; max |ort - ours| ${o.parity_max_abs_diff_vs_edgewise.toExponential(1)} on ${o.parity_rows} rows)`}`);
  }
  const c = res.comparison;
  log(`  ratios (${c.note})`);
  for (const n of MODEL_NAMES) {
    const p = c.full.per_model[n];
    const q = c.lite.per_model[n];
    if (p.skipped) continue;
    log(`    ${n.padEnd(13)} ort run vs our scores() one model: full ${ratio(p.ratio_vs_scores_one_model)}, lite ${ratio(q.ratio_vs_scores_one_model)} | vs the model's marginal cost (${us(p.ours_model_marginal_us)} / ${us(q.ours_model_marginal_us)} µs): ${ratio(p.ratio_vs_model_marginal)}, ${ratio(q.ratio_vs_model_marginal)} | vs our whole decide: ${ratio(p.ratio_vs_decide)}, ${ratio(q.ratio_vs_decide)} (p99: ${ratio(p.ratio_p99_vs_decide)}, ${ratio(q.ratio_p99_vs_decide)})`);
  }
  if (res.control) log(`  ${'control: fixed pure-JS work, no wasm (the machine\'s own tail)'.padEnd(58)}${lat(res.control)}`);
  const sb = res.side_by_side;
  if (sb && !sb.skipped) {
    log(`  side by side (${sb.rounds.length} interleaved rounds; p50 µs decide full / lite / ort ${sb.model}, ratios):`);
    for (const r of sb.rounds) log(`    ${us(r.full.p50_us)} / ${us(r.lite.p50_us)} / ${us(r.ort.p50_us)}   ${ratio(r.full.ratio)}, ${ratio(r.lite.ratio)}`);
  }
  log(`\n${env}: ingestion, events/s (median of rounds; batches of 1,000)`);
  log(`  ${''.padEnd(40)}${'full'.padEnd(16)}lite`);
  const ing = (label, f) => log(`  ${label.padEnd(40)}${['full', 'lite'].map((k) => int(f(b[k].ingestion)).padEnd(16)).join('')}`);
  ing('track(obj), one call per event', (i) => i.track.median_events_per_s);
  ing('trackMany(array of 1,000 objects)', (i) => i.trackMany_objects.median_events_per_s);
  ing('trackMany(columnar typed arrays)', (i) => i.trackMany_columnar?.median_events_per_s);
}

export function printNode(node, log = console.log) {
  engineTable('Node', node, log);
  const cs = node.cold_start;
  log(`\nNode: cold start, fresh process each, median of ${cs.repetitions} (ms)`);
  for (const k of ['lite', 'full']) {
    const e = cs.edgewise[k];
    log(`  edgewise ${k.padEnd(5)} import -> first decision ${ms(e.import_to_first_decision_ms).padStart(7)}  (module ${ms(e.module_ms)}, create with 3 models ${ms(e.create_with_3_models_ms)}, first decide ${ms(e.first_decide_ms)}; process wall ${ms(e.process_wall_ms)})`);
  }
  for (const k of ['ort_purchase_lr', 'ort_all_3']) {
    const o = cs.ort[k];
    log(`  ${k.padEnd(15)} import -> session     ${ms(o.import_to_session_ms).padStart(7)}  (import ${ms(o.import_ms)}, create ${ms(o.create_ms)}; first run ${ms(o.first_run_ms)}; process wall ${ms(o.process_wall_ms)})`);
  }
  log('\nNode: wasm linear memory (bytes)');
  for (const k of ['full', 'lite']) {
    const m = node.memory[k];
    log(`  ${k.padEnd(5)} instantiated ${int(m.after_instantiate)}, + 3 models ${int(m.after_models)}, after ${int(m.events)} events + ${int(m.session.decisions)} decisions + snapshot ${int(m.after_session)}   [${m.method}]`);
  }
}

export function printBrowser(br, log = console.log) {
  log(`\nChromium ${br.chromium} (headless, cross-origin isolated: ${br.cross_origin_isolated}); onnxruntime-web files the page loaded: ${br.ort_files_loaded.join(', ')}`);
  engineTable('Chromium', br, log);
}

/** bench/results.md: a section for the README. */
export function markdown(r) {
  const n = r.node;
  const br = r.browser;
  const L = [];
  const cores = `${r.machine.cores}-core ${r.machine.cpu}`;
  L.push('## Benchmarks against peers (`make bench`)');
  L.push('');
  L.push(`Measured ${r.date.slice(0, 10)} on this ${cores} (shared; load average ${r.machine.loadavg_start.map((x) => x.toFixed(2)).join(' / ')} at the start), Node ${r.node_version}, Chromium ${br?.chromium ?? '—'}, ${n.ort.package}, GrowthBook ${r.versions['@growthbook/growthbook']}. \`node benches/run.mjs\` writes everything with its methodology to \`bench/results.json\`. Units are decimal (KB = 1,000 B).`);
  L.push('');
  L.push('| target | measured | |');
  L.push('|---|---|---|');
  for (const t of r.targets) L.push(`| ${t.target}: ${t.limit} | ${t.measured} | ${t.pass ? 'PASS' : '**MISS**'} |`);
  L.push('');
  const env = (name, res) => {
    const b = res.builds;
    L.push(`**${name}**${res.clock_resolution_us ? ` (performance.now() steps of ${res.clock_resolution_us} µs, jittered)` : ''}: µs, p50 / p99 / p99.9`);
    L.push('');
    L.push('| | `full` | `lite` | onnxruntime-web `session.run` |');
    L.push('|---|---|---|---|');
    L.push(`| \`decide(slot, false)\` after a new event (features + 3 models + rules + SquareCB; the include's and the worker's path) | ${lat(b.full.decide)} | ${lat(b.lite.decide)} | |`);
    if (b.full.decide_explained) L.push(`| \`decide(slot)\` with reasons and arms table | ${lat(b.full.decide_explained)} | ${lat(b.lite.decide_explained)} | |`);
    L.push(`| \`scores()\` after a new event, 3 models | ${lat(b.full.scores.three_models_demo_config)} | ${lat(b.lite.scores.three_models_demo_config)} | |`);
    for (const m of MODEL_NAMES) {
      const o = res.ort.models[m];
      L.push(`| ${m}: \`scores()\` with only this model / ort \`run\` | ${lat(b.full.scores.per_model[m])} | ${lat(b.lite.scores.per_model[m])} | ${o.skipped ? `skipped: ${o.reason}` : lat(o.run)} |`);
    }
    const c = res.comparison;
    L.push('');
    L.push(`ort \`session.run\` ÷ ours (${c.stat === 'p50_us' ? 'medians' : 'trimmed means'}; full build): ${MODEL_NAMES.filter((m) => !c.full.per_model[m].skipped).map((m) => `${m} ${ratio(c.full.per_model[m].ratio_vs_scores_one_model)} vs \`scores()\` with that model (features + model + crossing), ${ratio(c.full.per_model[m].ratio_vs_model_marginal)} vs the model's own marginal cost, ${ratio(c.full.per_model[m].ratio_vs_decide)} vs our whole \`decide\``).join('; ')}.`);
    if (res.control) {
      L.push('');
      L.push(`The machine's own tail: a fixed pure-JS workload with no wasm and no allocation, timed per call the same way, measured ${lat(res.control)} µs (p50 / p99 / p99.9) — its p99 − p50 is what this machine adds to any per-call p99 here.`);
    }
    const sb = res.side_by_side;
    if (sb && !sb.skipped) {
      L.push('');
      L.push(`Side by side (${sb.rounds.length} rounds, each: decide \`full\`, decide \`lite\`, ort \`run\` of ${sb.model}, one right after the other; p50 µs and ort ÷ decide): ${sb.rounds.map((r) => `${us(r.full.p50_us)} / ${us(r.lite.p50_us)} / ${us(r.ort.p50_us)} (${ratio(r.full.ratio)}, ${ratio(r.lite.ratio)})`).join('; ')}.`);
    }
    L.push('');
    L.push(`Ingestion (events/s, batches of 1,000): \`track\` ${int(b.full.ingestion.track.median_events_per_s)} / ${int(b.lite.ingestion.track.median_events_per_s)}, \`trackMany\` objects ${int(b.full.ingestion.trackMany_objects.median_events_per_s)} / ${int(b.lite.ingestion.trackMany_objects.median_events_per_s)}, columnar ${int(b.full.ingestion.trackMany_columnar?.median_events_per_s)} / ${int(b.lite.ingestion.trackMany_columnar?.median_events_per_s)} (full / lite).`);
    L.push('');
  };
  env('Node, one thread', n);
  const cs = n.cold_start;
  L.push(`**Cold start** (fresh Node process each, median of ${cs.repetitions}): import → first decision \`lite\` ${ms(cs.edgewise.lite.import_to_first_decision_ms)} ms, \`full\` ${ms(cs.edgewise.full.import_to_first_decision_ms)} ms (3 models); onnxruntime-web import → \`InferenceSession.create\` ${ms(cs.ort.ort_purchase_lr.import_to_session_ms)} ms (purchase-lr), ${ms(cs.ort.ort_all_3.import_to_session_ms)} ms (all 3). **Linear memory** (\`memoryBytes()\`${n.memory.full.api_memoryBytes_present && n.memory.lite.api_memoryBytes_present ? '' : ' where exported, else the web glue\'s \`initSync()\` exports'}) with 3 models: \`full\` ${int(n.memory.full.after_models)} B, \`lite\` ${int(n.memory.lite.after_models)} B; after ${int(n.memory.full.events)} events, ${int(n.memory.full.session.decisions)} decisions and a snapshot: ${int(n.memory.full.after_session)} B and ${int(n.memory.lite.after_session)} B.`);
  L.push('');
  if (br) env(`Chromium ${br.chromium}, headless`, br);
  const g = r.sizes.groups;
  L.push('**Sizes** (bytes; each file compressed alone, summed):');
  L.push('');
  L.push('| | raw | gzip -9 | brotli q11 |');
  L.push('|---|---|---|---|');
  for (const k of ['lite', 'full', 'include', 'ort', 'growthbook']) L.push(`| ${g[k].label} | ${int(g[k].raw)} | ${int(g[k].gzip)} | ${int(g[k].brotli)} |`);
  L.push('');
  L.push(`onnxruntime-web counted: ${Object.keys(g.ort.files).map((f) => `\`${f.replace('node_modules/onnxruntime-web/', '')}\``).join(' + ')}${br ? ` (what the Chromium page loaded: ${br.ort_files_loaded.map((f) => `\`${f}\``).join(', ')})` : ''}; GrowthBook: \`${Object.keys(g.growthbook.files)[0].replace('node_modules/@growthbook/growthbook/', '')}\`, its \`<script>\` build.`);
  L.push('');
  return L.join('\n');
}
