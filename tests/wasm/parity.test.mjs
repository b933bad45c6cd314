// Native ↔ wasm parity (issue 3c): the same simulated sessions replayed through the native
// Engine (`edgewise score`) and through the wasm packages' Engine.scores() must give the same
// score for every shipped model — the `full` build from the .onnx files, the `lite` build from
// the compiled .ewm.json files (`make models` writes them with `edgewise compile-model`).
// Run: node --test tests/wasm/   (after `make wasm`; builds the native CLI if it is missing)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
const NAMES = ['purchase-lr', 'purchase-gbt', 'churn-mlp'];
const SESSIONS = 400;
const TOLERANCE = 1e-6; // same f32 program both sides; only libm's exp/log may differ by an ulp

function cli() {
  for (const p of ['target/debug/edgewise', 'target/release/edgewise']) {
    if (existsSync(path.join(root, p))) return path.join(root, p);
  }
  execFileSync('cargo', ['build', '--quiet', '--bin', 'edgewise'], { cwd: root, stdio: 'inherit' });
  return path.join(root, 'target/debug/edgewise');
}

const bin = cli();
const dir = mkdtempSync(path.join(tmpdir(), 'edgewise-parity-'));
const data = path.join(dir, 'sessions.jsonl');
// Seed 5: sessions neither training (seed 1) nor the Python parity fixture (seed 2) used.
execFileSync(bin, ['simulate', '--sessions', String(SESSIONS), '--seed', '5', '--out', data], { stdio: 'ignore' });
const sessions = readFileSync(data, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const configPath = path.join(root, 'www/demo/config.json');
const config = readFileSync(configPath, 'utf8');

function nativeScores(at) {
  const out = execFileSync(bin, [
    'score', '--data', data, '--config', configPath, '--at', at,
    '--models', NAMES.map((n) => path.join(root, 'models', `${n}.onnx`)).join(','),
  ], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return out.trim().split('\n').map((l) => JSON.parse(l));
}
const native = { decision: nativeScores('decision'), end: nativeScores('end') };

const onnxModels = () =>
  NAMES.map((n) => ({
    manifest: readFileSync(path.join(root, 'models', `${n}.json`), 'utf8'),
    onnx: new Uint8Array(readFileSync(path.join(root, 'models', `${n}.onnx`))),
  }));
const compiledModels = () =>
  NAMES.map((n) => ({ compiled: readFileSync(path.join(root, 'models', `${n}.ewm.json`), 'utf8') }));

function replay(pkg, models, build) {
  const { Engine, build: buildName } = require(path.join(root, pkg, 'edgewise.js'));
  assert.equal(buildName(), build);
  let worst = 0;
  let compared = 0;
  for (const at of ['decision', 'end']) {
    for (const [i, s] of sessions.entries()) {
      const want = native[at][i];
      assert.equal(want.id, s.id);
      const n = at === 'decision' ? s.decision_index : s.events.length;
      const e = Engine.create(config, models, { seed: 1, now: s.start_ms, sessionStart: s.start_ms });
      e.setContext(s.context);
      e.setNow(want.now);
      if (n > 0) assert.equal(e.trackMany(s.events.slice(0, n)).accepted, n);
      const got = e.scores();
      e.free();
      assert.deepEqual(Object.keys(got).sort(), Object.keys(want.scores).sort());
      for (const [name, p] of Object.entries(want.scores)) {
        const d = Math.abs(got[name] - p);
        worst = Math.max(worst, d);
        compared++;
        assert.ok(d <= TOLERANCE, `session ${s.id} at ${at}: ${name} native ${p} ${build} ${got[name]}`);
      }
    }
  }
  return { compared, worst };
}

test('full build (ONNX files) scores every session as the native build does', () => {
  const r = replay('pkg/node', onnxModels(), 'full');
  assert.equal(r.compared, 2 * SESSIONS * NAMES.length);
  console.log(`full: ${r.compared} scores, worst |native - wasm| = ${r.worst}`);
});

test('lite build (compiled models) scores every session as the native build does', (t) => {
  if (!existsSync(path.join(root, 'pkg/lite/node/edgewise.js'))) return t.skip('pkg/lite not built');
  const r = replay('pkg/lite/node', compiledModels(), 'lite');
  assert.equal(r.compared, 2 * SESSIONS * NAMES.length);
  console.log(`lite: ${r.compared} scores, worst |native - wasm| = ${r.worst}`);
});

test('lite build refuses ONNX bytes with a code that says to compile them', (t) => {
  if (!existsSync(path.join(root, 'pkg/lite/node/edgewise.js'))) return t.skip('pkg/lite not built');
  const { Engine } = require(path.join(root, 'pkg/lite/node/edgewise.js'));
  let caught;
  try {
    Engine.create(config, onnxModels().slice(0, 1), { seed: 1, now: 1_767_225_600_000 });
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof Error);
  assert.equal(caught.code, 'model_format_unsupported');
  assert.match(caught.message, /compile-model/);
});
