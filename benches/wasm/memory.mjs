// Linear memory of one wasm instance, in this fresh Node process; prints one JSON line.
//   node benches/wasm/memory.mjs full|lite [--events 1000000]
// After instantiation, after Engine.create with the 3 shipped models, and after a full session:
// 1,000,000 events (trackMany, batches of 1,000, every kind incl. strings), the 3 slots decided
// after every batch with one decision in four rewarded, then snapshot() and exportProfile().
// Linear memory only grows, so the last number is the peak.
//
// Where: memoryBytes() when the module exports it. Without it, the same variant's web glue
// (pkg/web or pkg/lite/web; the same optimized .wasm) is instantiated with initSync(), whose
// return value is the instance's exports, and exports.memory.buffer.byteLength is read.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SLOTS, createEngine, rng, sessionEvent, T0 } from './common.mjs';
import { demoConfig, engineModels } from './suite.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const build = process.argv[2];
if (!['full', 'lite'].includes(build)) throw new Error('usage: memory.mjs full|lite [--events N]');
const eArg = process.argv.indexOf('--events');
const EVENTS = eArg > 0 ? Number(process.argv[eArg + 1]) : 1_000_000;

const nodeDir = build === 'lite' ? 'pkg/lite/node' : 'pkg/node';
let ew = createRequire(import.meta.url)(path.join(root, nodeDir, 'edgewise.js'));
let mem;
let method;
const apiPresent = typeof ew.memoryBytes === 'function';
if (apiPresent) {
  mem = () => ew.memoryBytes();
  method = `memoryBytes() of ${nodeDir}`;
} else {
  const webDir = build === 'lite' ? 'pkg/lite/web' : 'pkg/web';
  const web = await import(pathToFileURL(path.join(root, webDir, 'edgewise.js')).href);
  const exports = web.initSync({ module: readFileSync(path.join(root, webDir, 'edgewise_bg.wasm')) });
  if (!(exports.memory instanceof WebAssembly.Memory)) throw new Error(`${webDir}: initSync() returned no memory export`);
  ew = web;
  mem = () => exports.memory.buffer.byteLength;
  method = `memoryBytes() absent: ${webDir} glue instantiated with initSync() (same .wasm as ${nodeDir}), exports.memory.buffer.byteLength`;
}
if (ew.build() !== build) throw new Error(`${build}: module says build() = ${ew.build()}`);

const out = { build, api_memoryBytes_present: apiPresent, method, events: EVENTS };
if (!apiPresent) {
  out.memoryBytes = null;
  out.memoryBytes_note = `memoryBytes() is not exported by ${nodeDir}: null; the after_* numbers below come from the web glue's initSync() exports.memory instead`;
}
out.after_instantiate = mem();
const engine = createEngine(ew, demoConfig(), engineModels(build));
out.after_models = mem();

const r = rng(5);
const BATCH = 1000;
let ts = T0 + 1_000;
let accepted = 0;
let decisions = 0;
for (let b = 0; b < EVENTS / BATCH; b++) {
  const batch = new Array(BATCH);
  for (let i = 0; i < BATCH; i++) batch[i] = sessionEvent(r, (ts += 0.001));
  const rep = engine.trackMany(batch);
  if (rep.rejected_count !== 0) throw new Error(`rejected: ${JSON.stringify(rep.rejected[0])}`);
  accepted += rep.accepted;
  for (const slot of SLOTS) {
    const d = engine.decide(slot);
    if (typeof d.variant_id !== 'string' || d.source === 'error') throw new Error(`decide: ${JSON.stringify(d)}`);
    if (decisions++ % 4 === 0) engine.reward(d.decision_id, decisions % 8 === 1 ? 1 : 0);
  }
}
if (accepted !== EVENTS) throw new Error(`accepted ${accepted} of ${EVENTS}`);
const snap = engine.snapshot();
const profile = engine.exportProfile();
out.after_session = mem();
const st = engine.state();
out.session = { accepted, decisions, events_in_window: st.events, total_events: st.total_events, pending_rewards: st.pending_rewards, snapshot_bytes: snap.length, profile_keys: Object.keys(profile).length };
engine.free();
process.stdout.write(JSON.stringify(out) + '\n');
