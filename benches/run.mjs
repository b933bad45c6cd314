#!/usr/bin/env node
// The wasm benchmark suite, side by side with peers, one command (`make bench` runs it after
// `make wasm`):
//   1. sizes of our web builds and the script include vs onnxruntime-web and GrowthBook
//      (benches/sizes.mjs);
//   2. Node, one thread: ingestion, decide latency (full, lite), model inference vs
//      onnxruntime-web in the same process, cold start, linear memory (benches/wasm/suite.mjs);
//   3. headless Chromium: ingestion, decide and the ort-web comparison (benches/wasm/browser/).
// Writes bench/results.json (everything, with methodology) and bench/results.md (a section for
// the README), prints every target with PASS/MISS and exits 1 when one is missed (2 when the
// bench itself failed).
//
//   node benches/run.mjs [--quick] [--no-browser]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { evaluateTargets, markdown, printBrowser, printNode, printTargets } from './report.mjs';
import { measureSizes, printSizes } from './sizes.mjs';
import { runBrowser } from './wasm/browser/run.mjs';
import { runNodeSuite } from './wasm/suite.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('--quick');
const version = (p) => JSON.parse(readFileSync(path.join(root, 'node_modules', p, 'package.json'), 'utf8')).version;
const t0 = performance.now();

const results = {
  date: new Date().toISOString(),
  node_version: process.version,
  machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model?.trim() ?? 'unknown', platform: `${os.platform()} ${os.release()} ${os.arch()}`, loadavg_start: os.loadavg() },
  versions: Object.fromEntries(['onnxruntime-web', '@growthbook/growthbook', 'playwright-core'].map((p) => [p, version(p)])),
  quick,
  methodology: {
    overview: 'Every timed call is checked (decisions carry a variant and every model\'s score, trackMany reports accept the whole batch, ort outputs are finite probabilities that agree with our scores on the same feature vectors); warm-up before every timing; per-call latencies are nearest-rank percentiles of single calls timed with performance.now().',
    node: 'one Node process, one thread; our full (pkg/node) and lite (pkg/lite/node) builds and onnxruntime-web (wasm backend, numThreads 1, no proxy) in the same process; cold start and memory in fresh child processes',
    chromium: 'one page, cross-origin isolated, the same code (benches/wasm/common.mjs) on pkg/web, pkg/lite/web and dist/ort.wasm.min.mjs',
  },
};

let failed = null;
try {
  console.error('bench: sizes');
  results.sizes = measureSizes();
  console.error('bench: Node suite');
  results.node = await runNodeSuite({ quick });
  if (!process.argv.includes('--no-browser')) {
    console.error('bench: Chromium');
    results.browser = await runBrowser({ quick });
  }
} catch (e) {
  failed = e;
  results.error = String(e?.stack ?? e);
}
results.machine.loadavg_end = os.loadavg();
results.duration_s = +((performance.now() - t0) / 1e3).toFixed(1);

mkdirSync(path.join(root, 'bench'), { recursive: true });
if (failed) {
  writeFileSync(path.join(root, 'bench', 'results.json'), JSON.stringify(results, null, 2) + '\n');
  console.error(`\nbench: FAILED: ${failed.stack ?? failed}\n(if pkg/ was being rebuilt meanwhile, run it again)`);
  process.exit(2);
}

results.edgewise_version = results.node.builds.full.version;
results.chromium_version = results.browser?.chromium ?? null;
if (results.browser) {
  // The ort files counted in the sizes must be the ones the Chromium page really loaded.
  const counted = Object.keys(results.sizes.groups.ort.files).map((f) => f.replace('node_modules/onnxruntime-web/', '')).sort();
  const loaded = [...results.browser.ort_files_loaded].sort();
  results.sizes.ort_files_loaded_by_chromium = loaded;
  results.sizes.ort_files_match_chromium = JSON.stringify(counted) === JSON.stringify(loaded);
  if (!results.sizes.ort_files_match_chromium) console.error(`bench: WARNING: ort files counted ${counted} != loaded by Chromium ${loaded}`);
}
results.targets = evaluateTargets(results);
writeFileSync(path.join(root, 'bench', 'results.json'), JSON.stringify(results, null, 2) + '\n');
writeFileSync(path.join(root, 'bench', 'results.md'), markdown(results));

console.log(`edgewise ${results.edgewise_version} — ${results.date} — Node ${process.version}, Chromium ${results.browser?.chromium ?? '(skipped)'}, ${results.machine.cores} cores (${results.machine.cpu}), load ${results.machine.loadavg_start.map((x) => x.toFixed(2)).join(' ')}${quick ? ' — QUICK RUN (not for numbers)' : ''}`);
printSizes(results.sizes);
printNode(results.node);
if (results.browser) printBrowser(results.browser);
printTargets(results.targets);
console.log(`\nwrote bench/results.json and bench/results.md (${results.duration_s} s)`);
process.exit(results.targets.every((t) => t.pass) ? 0 : 1);
