// One cold start, in this fresh Node process; prints one JSON line. The suite spawns it.
//   node benches/wasm/cold-start.mjs lite|full        import -> first decision (3 shipped models)
//   node benches/wasm/cold-start.mjs ort <model>...   onnxruntime-web import -> InferenceSession.create
// The clock starts right before the require/import of the module; reading the model files from
// disk is inside the timed span for both.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { MODEL_NAMES } from './common.mjs';
import { demoConfig, engineModels } from './suite.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const [what, ...rest] = process.argv.slice(2);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

if (what === 'full' || what === 'lite') {
  const t0 = performance.now();
  const ew = createRequire(import.meta.url)(path.join(root, what === 'lite' ? 'pkg/lite/node' : 'pkg/node', 'edgewise.js'));
  const t1 = performance.now();
  const config = demoConfig();
  const models = engineModels(what);
  const engine = ew.Engine.create(config, models, { seed: 1 });
  engine.setConsent({ personalization: true });
  engine.track({ kind: 'page_view' });
  const t2 = performance.now();
  const d = engine.decide('hero-headline');
  const t3 = performance.now();
  const scores = Object.values(d?.scores ?? {});
  if (typeof d?.variant_id !== 'string' || ['error', 'no_consent', 'holdout'].includes(d.source) || scores.length !== MODEL_NAMES.length || !scores.every(Number.isFinite)) {
    console.error(`cold-start ${what}: first decision is not a real one: ${JSON.stringify(d)}`);
    process.exit(1);
  }
  if (ew.build() !== what) {
    console.error(`cold-start: ${what} package reports build() = ${ew.build()}`);
    process.exit(1);
  }
  out({ what, module_ms: t1 - t0, create_ms: t2 - t1, first_decide_ms: t3 - t2, total_ms: t3 - t0, source: d.source, variant: d.variant_id });
} else if (what === 'ort') {
  const names = rest.length ? rest : ['purchase-lr'];
  const t0 = performance.now();
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  const t1 = performance.now();
  const sessions = [];
  for (const name of names) {
    const bytes = new Uint8Array(readFileSync(path.join(root, 'models', `${name}.onnx`)));
    sessions.push(await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] }));
  }
  const t2 = performance.now();
  // One inference, so "to first result" can be compared too (not part of the target).
  const manifest = JSON.parse(readFileSync(path.join(root, 'models', `${names[0]}.json`), 'utf8'));
  const width = 24; // the storefront-v1 feature spec (models/storefront-v1.features.json); a wrong width makes run() throw
  const res = await sessions[0].run({ [manifest.input]: new ort.Tensor('float32', new Float32Array(width), [1, width]) }, [manifest.output]);
  const t3 = performance.now();
  const p = Number(res[manifest.output].data[manifest.class_index ?? 0]);
  if (!Number.isFinite(p)) {
    console.error(`cold-start ort: output ${p}`);
    process.exit(1);
  }
  out({ what: `ort:${names.join('+')}`, import_ms: t1 - t0, create_ms: t2 - t1, import_to_session_ms: t2 - t0, first_run_ms: t3 - t2, import_to_first_result_ms: t3 - t0 });
} else {
  console.error('usage: cold-start.mjs lite|full | ort <model>...');
  process.exit(2);
}
