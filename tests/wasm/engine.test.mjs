// Tests of the built wasm package (pkg/node) from Node: the JS API end to end, and bad input at
// every entry point returning an Error with the right `code` while the engine keeps working.
// Run: node --test tests/wasm/   (after `make wasm`)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
const { Engine, Shared, version, eventKinds, memoryBytes } = require(path.join(root, 'pkg/node/edgewise.js'));

const T0 = 1_700_000_000_000;
const config = JSON.parse(readFileSync(path.join(root, 'www/demo/config.json'), 'utf8'));
const noHoldout = { ...config, holdout: 0 };

function model(name, dir = 'models') {
  return {
    manifest: readFileSync(path.join(root, dir, `${name}.json`), 'utf8'),
    onnx: new Uint8Array(readFileSync(path.join(root, dir, `${name}.onnx`))),
  };
}
const models = () => [model('purchase-lr'), model('churn-mlp')];

function create(seed = 1, cfg = noHoldout) {
  const e = Engine.create(cfg, models(), { seed, now: T0 });
  e.setConsent({ personalization: true, storage: true });
  return e;
}

function shopper(e) {
  e.setNow(T0 + 10_000);
  const r = e.trackMany([
    { kind: 'page_view', ts: T0 + 1 },
    { kind: 'product_view', ts: T0 + 2, category: 'shoes', price: 60, item_id: 'sku-1' },
    { kind: 'product_view', ts: T0 + 3, category: 'bags', price: 80 },
    { kind: 'add_to_cart', ts: T0 + 4, category: 'shoes', price: 60 },
    { kind: 'checkout_start', ts: T0 + 5 },
    { kind: 'scroll', ts: T0 + 6, value: 0.8 },
    { kind: 'dwell', ts: T0 + 7, value: 35 },
  ]);
  assert.equal(r.accepted, 7);
}

function throwsCode(fn, code) {
  let caught;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof Error, `expected an Error with code ${code}, got ${caught}`);
  assert.equal(caught.code, code, caught.message);
  assert.ok(caught.message.length > 10);
  return caught;
}

test('version matches Cargo.toml', () => {
  const cargo = readFileSync(path.join(root, 'Cargo.toml'), 'utf8');
  assert.equal(version(), /^version = "([^"]+)"/m.exec(cargo)[1]);
});

test('create → track → decide → reward → snapshot → restore', () => {
  const browser = create(1);
  browser.setNow(T0 + 10_000);
  browser.track({ kind: 'page_view', ts: T0 + 1 });
  const base = browser.scores();
  const e = create(1);
  shopper(e);
  const scores = e.scores();
  // A visitor who carted and started checkout is far likelier to buy than one who only landed.
  assert.ok(scores.purchase > 2 * base.purchase && scores.purchase <= 1, JSON.stringify({ scores, base }));
  assert.ok(scores.churn >= 0 && scores.churn <= 1);

  const decisions = ['hero-headline', 'layout', 'offer'].map((slot) => e.decide(slot));
  for (const d of decisions) {
    assert.equal(typeof d.decision_id, 'string');
    assert.ok(['explore', 'exploit', 'rule', 'default'].includes(d.source), d.source);
    assert.ok(d.probability > 0 && d.probability <= 1);
    assert.ok(Array.isArray(d.reasons) && d.reasons.length > 0);
    assert.equal(typeof d.scores.purchase, 'number');
  }
  const offer = decisions[2];
  assert.equal(typeof offer.content, 'object');
  assert.equal(typeof offer.content.title, 'string');
  e.reward(decisions[0].decision_id, 1);

  const bytes = e.snapshot();
  assert.ok(bytes instanceof Uint8Array && bytes.length > 100);
  assert.equal(e.snapshotScope(), 'persistent');
  const r = Engine.restore(bytes, noHoldout, models(), { now: T0 + 11_000 });
  assert.deepEqual(r.setConsent({ personalization: true, storage: true }).delete_keys, []);
  e.setNow(T0 + 11_000);
  assert.deepEqual(r.scores(), e.scores());
  assert.equal(r.state().events, 7);
  // the restored engine continues the same random stream and decision ids
  for (let i = 0; i < 10; i++) {
    const a = e.decide('hero-headline');
    const b = r.decide('hero-headline');
    assert.deepEqual([a.decision_id, a.variant_id, a.probability], [b.decision_id, b.variant_id, b.probability]);
  }
  throwsCode(() => r.reward(decisions[0].decision_id, 1), 'already_rewarded');
  r.reward(decisions[1].decision_id, 0);
  e.free();
  r.free();
});

test('without consent every slot shows its default', () => {
  const e = Engine.create(noHoldout, models(), { seed: 2, now: T0 });
  const d = e.decide('offer');
  assert.equal(d.source, 'no_consent');
  assert.equal(d.variant_id, 'none');
  assert.equal(d.probability, 1);
  e.free();
});

test('decide(slot, false) is decide(slot) without the reasons and the arms table', () => {
  // Two engines, same seed, same session: the lean decision (built as one JS object in the
  // binding) must equal the explained one (through JSON) field by field, to the last bit of
  // every score, on every slot kind (copy, layout, an offer whose content is an object).
  const slots = config.slots.map((s) => s.id);
  const lean = create(5);
  const full = create(5);
  shopper(lean);
  shopper(full);
  for (let i = 0; i < 60; i++) {
    const slot = slots[i % slots.length];
    const a = lean.decide(slot, false);
    const b = full.decide(slot, true);
    assert.ok(b.reasons.length > 0 && Array.isArray(b.arms));
    const { reasons, arms, ...rest } = b;
    assert.deepEqual(a, { ...rest, reasons: [] });
    assert.deepEqual(Object.keys(a), Object.keys({ ...rest, reasons: [] }));
    assert.deepEqual(lean.scores(), a.scores);
    if (i % 3 === 0) {
      lean.reward(a.decision_id, 1);
      full.reward(b.decision_id, 1);
    }
  }
  // Every decision owns its content and tags: changing one changes no later one.
  const one = lean.decide('offer', false);
  assert.equal(typeof one.content, 'object');
  one.content.title = 'changed';
  one.tags.push('changed');
  let same = null;
  for (let k = 0; k < 200 && !same; k++) {
    const d = lean.decide('offer', false);
    if (d.variant_id === one.variant_id) same = d;
  }
  assert.ok(same, `no second decision for ${one.variant_id}`);
  assert.notEqual(same.content.title, 'changed');
  assert.deepEqual(same.tags, one.tags.slice(0, -1));
  // A default with its reason (no consent) keeps the reason on the lean path too.
  const none = Engine.create(noHoldout, models(), { seed: 2, now: T0 });
  const d = none.decide('offer', false);
  assert.equal(d.source, 'no_consent');
  assert.equal(d.reasons.length, 1);
  for (const e of [lean, full, none]) e.free();
});

test('the engines of one Shared decide as engines of their own do (the lean path\'s values are shared)', () => {
  const shared = Shared.load(noHoldout, models());
  const slots = config.slots.map((s) => s.id);
  for (const seed of [1, 2, 3]) {
    const a = Engine.createShared(shared, { seed, now: T0 });
    a.setConsent({ personalization: true, storage: true });
    const b = create(seed);
    shopper(a);
    shopper(b);
    for (let i = 0; i < 30; i++) {
      const slot = slots[(i + seed) % slots.length];
      assert.deepEqual(a.decide(slot, false), b.decide(slot, false));
    }
    // A restored engine of the Shared too.
    const r = Engine.restoreShared(a.snapshot(), shared, { now: T0 + 10_000 });
    const d = r.decide('offer', false);
    assert.equal(d.slot, 'offer');
    assert.ok(config.slots.find((s) => s.id === 'offer').variants.some((v) => v.id === d.variant_id));
    for (const e of [a, b, r]) e.free();
  }
  shared.free();
});

test('same seed, same decisions; different seed, different decisions', () => {
  const run = (seed) => {
    const e = create(seed);
    shopper(e);
    const out = [];
    for (let i = 0; i < 40; i++) out.push(e.decide('hero-headline').variant_id);
    e.free();
    return out.join(',');
  };
  assert.equal(run(7), run(7));
  assert.notEqual(run(7), run(8));
});

test('bad events are refused with a code and the engine keeps working', () => {
  const e = create(3);
  e.setNow(T0 + 1000);
  throwsCode(() => e.track({ kind: 'teleport', ts: T0 + 1 }), 'event_unknown_kind');
  throwsCode(() => e.track({ kind: 'add_to_cart', ts: T0 + 1, price: -3 }), 'event_invalid_price');
  throwsCode(() => e.track({ kind: 'add_to_cart', ts: T0 + 1, price: NaN }), 'event_invalid_price');
  throwsCode(() => e.track({ kind: 'dwell', ts: T0 + 1, value: Infinity }), 'event_invalid_value');
  throwsCode(() => e.track({ kind: 'page_view', ts: -Infinity }), 'event_invalid_timestamp');
  throwsCode(() => e.track({ kind: 'page_view', ts: T0 + 86_400_000 }), 'event_in_future');
  throwsCode(() => e.track({ kind: 'page_view', ts: T0 - 5 }), 'event_before_session_start');
  throwsCode(() => e.track({ kind: 'scroll', ts: T0 + 1, value: 3 }), 'event_invalid_value');
  throwsCode(() => e.track({ kind: 'search', ts: T0 + 1, query: 'x'.repeat(10_000) }), 'event_string_too_long');
  throwsCode(() => e.track({ kind: 'click', ts: T0 + 1, colour: 'red' }), 'event_malformed');
  throwsCode(() => e.track({ ts: T0 + 1 }), 'event_malformed');
  throwsCode(() => e.track('page_view'), 'event_malformed');
  throwsCode(() => e.track(null), 'event_malformed');
  throwsCode(() => e.track({ kind: 'page_view', ts: 'yesterday' }), 'event_malformed');
  throwsCode(() => e.trackMany('nope'), 'invalid_argument');
  const r = e.trackMany([
    { kind: 'click', ts: T0 + 2 },
    { kind: 'bogus' },
    42,
    { kind: 'page_view', ts: T0 + 3 },
    { kind: 'add_to_cart', ts: T0 + 3, price: NaN },
  ]);
  assert.equal(r.accepted, 2);
  assert.equal(r.rejected_count, 3);
  assert.deepEqual(
    r.rejected.map((x) => [x.index, x.code]),
    [[1, 'event_unknown_kind'], [2, 'event_malformed'], [4, 'event_invalid_price']],
  );
  e.track({ kind: 'page_view' }); // ts defaults to the engine clock
  assert.equal(e.state().events, 3);
  assert.ok(e.decide('hero-headline').decision_id);
  e.free();
});

test('bad calls to decide, reward, setConsent, setContext are refused with a code', () => {
  const e = create(4);
  throwsCode(() => e.decide('sidebar'), 'unknown_slot');
  throwsCode(() => e.reward('nope', 1), 'unknown_decision');
  const d = e.decide('layout');
  throwsCode(() => e.reward(d.decision_id, 7), 'invalid_reward');
  throwsCode(() => e.reward(d.decision_id, NaN), 'invalid_reward');
  e.reward(d.decision_id, 1);
  throwsCode(() => e.reward(d.decision_id, 1), 'already_rewarded');
  throwsCode(() => e.setConsent({ personalisation: true }), 'invalid_consent');
  throwsCode(() => e.setConsent(5), 'invalid_argument');
  throwsCode(() => e.setContext({ device: { nested: true } }), 'invalid_context');
  throwsCode(() => e.setNow(-1), 'invalid_clock');
  e.setContext({ device: 'mobile', hour_of_day: 9 });
  assert.ok(e.decide('offer').decision_id);
  e.free();
});

test('bad config, models and snapshots are refused with a code', () => {
  throwsCode(() => Engine.create('{oops', models(), { seed: 1 }), 'config_malformed');
  throwsCode(() => Engine.create({ ...noHoldout, version: 9 }, models(), { seed: 1 }), 'config_invalid');
  throwsCode(() => Engine.create(42, models()), 'invalid_argument');
  const badRule = structuredClone(noHoldout);
  badRule.slots[0].variants[1].eligibility = 'purchase >=';
  throwsCode(() => Engine.create(badRule, models(), { seed: 1 }), 'config_rule_invalid');
  throwsCode(() => Engine.create(noHoldout, [{ manifest: model('purchase-lr').manifest, onnx: new TextEncoder().encode('<html>') }]), 'model_parse_failed');
  throwsCode(() => Engine.create(noHoldout, [{ manifest: '{}', onnx: model('purchase-lr').onnx }]), 'model_manifest_invalid');
  throwsCode(() => Engine.create(noHoldout, [model('wrong-width', 'tests/fixtures/models')]), 'model_width_mismatch');
  throwsCode(() => Engine.create(noHoldout, [model('two-inputs', 'tests/fixtures/models')]), 'model_inputs_unsupported');
  throwsCode(() => Engine.create(noHoldout, [{ manifest: model('purchase-lr').manifest, onnx: 'base64?' }]), 'invalid_argument');
  throwsCode(() => Engine.create(noHoldout, 'models'), 'invalid_argument');
  throwsCode(() => Engine.create(noHoldout, models(), { sed: 1 }), 'invalid_argument');

  const e = create(5);
  shopper(e);
  const good = e.snapshot();
  const flipped = good.slice();
  flipped[flipped.length >> 1] ^= 0x10;
  throwsCode(() => Engine.restore(flipped, noHoldout, models()), 'snapshot_checksum_mismatch');
  throwsCode(() => Engine.restore(good.slice(0, good.length - 10), noHoldout, models()), 'snapshot_truncated');
  throwsCode(() => Engine.restore(new Uint8Array(64), noHoldout, models()), 'snapshot_not_recognized');
  throwsCode(() => Engine.restore('bytes', noHoldout, models()), 'invalid_argument');
  // after all that, the module and the first engine still work
  assert.ok(e.decide('hero-headline').decision_id);
  const fresh = create(6);
  assert.ok(fresh.decide('offer').decision_id);
  e.free();
  fresh.free();
});

test('a long burst of events stays bounded', () => {
  const e = create(7);
  e.setNow(T0 + 60_000);
  const batch = Array.from({ length: 10_000 }, (_, i) => ({ kind: 'scroll', ts: T0 + 1 + i, value: (i % 100) / 100 }));
  for (let i = 0; i < 20; i++) assert.equal(e.trackMany(batch).accepted, 10_000);
  const s = e.state();
  assert.equal(s.events, 512);
  assert.equal(s.total_events, 200_000);
  assert.ok(e.decide('hero-headline').decision_id);
  e.free();
});

test('consent sources through the binding: TCF, GPC, Consent Mode, the gate, withdrawal', () => {
  const e = Engine.create(noHoldout, models(), { seed: 3, now: T0 });
  e.track({ kind: 'product_view', ts: T0 + 1, category: 'shoes', price: 60 });
  // No consent: a session-scoped snapshot, refusals, the default.
  assert.equal(e.snapshotScope(), 'session');
  const refused = e.syncPayload();
  assert.equal(refused.ok, false);
  assert.equal(refused.refusal.code, 'sync_refused');
  assert.equal(e.decide('offer').source, 'no_consent');
  // A TC string from the fixtures generated with @iabtcf/core, with purposes 1-12 consented.
  const valid = JSON.parse(readFileSync(path.join(root, 'tests/fixtures/tcf/valid.json'), 'utf8'));
  const all = valid.find((f) => [1, 5, 6, 8].every((p) => f.expected.purposeConsents.includes(p)) && !f.expected.publisherConsents);
  const change = e.setTcf(all.string);
  assert.equal(change.purposes.storage, true);
  assert.equal(change.purposes.personalization, true);
  assert.equal(change.purposes.profile_sync, false, 'first party: sync needs the publisher segment');
  assert.equal(e.snapshotScope(), 'persistent');
  assert.deepEqual(e.consentReceipt().storage.by, ['tcf']);
  assert.notEqual(e.decide('offer').source, 'no_consent');
  // Host says yes to everything, GPC still blocks the sync.
  e.setConsent({ storage: true, personalization: true, measurement: true, profile_sync: true });
  e.setGpc(true);
  assert.equal(e.syncPayload().ok, false);
  assert.deepEqual(e.syncPayload().refusal.denied_by.sort(), ['gpc', 'tcf']);
  // Consent Mode denying storage wipes what was kept.
  const wiped = e.setConsentMode({ analytics_storage: 'denied' });
  assert.equal(wiped.wiped, true);
  assert.deepEqual(wiped.delete_keys, ['edgewise:state']);
  assert.equal(e.snapshotScope(), 'session');
  throwsCode(() => e.setConsentMode({ analytics_storage: 'maybe' }), 'consent_invalid_signal');
  throwsCode(() => e.setTcf('not a tc string'), 'consent_invalid_tcf');
  assert.equal(e.state().consent.storage, false);
  // With storage allowed, the refused string still takes it away: the error carries the change.
  const kept = create(9);
  const badTcf = throwsCode(() => kept.setTcf('not a tc string'), 'consent_invalid_tcf');
  assert.equal(badTcf.change.wiped, true);
  assert.deepEqual(badTcf.change.delete_keys, ['edgewise:state']);
  kept.free();
  const x = e.exportProfile();
  assert.equal(x.session.events.length, 1);
  assert.equal(x.profile.id, null);
  const w = e.withdraw();
  assert.equal(w.wiped, true);
  assert.deepEqual(w.delete_keys, ['edgewise:state']);
  e.free();
});

test('a columnar trackMany batch gives the engine the same session as the objects do', () => {
  const events = [
    { kind: 'page_view', ts: T0 + 1 },
    { kind: 'product_view', ts: T0 + 2, category: 'shoes', price: 60, item_id: 'sku-1' },
    { kind: 'product_view', ts: T0 + 3, category: 'bags', price: 80 },
    { kind: 'add_to_cart', ts: T0 + 4, category: 'shoes', price: 60 },
    { kind: 'search', ts: T0 + 5, query: 'boots' },
    { kind: 'scroll', ts: T0 + 6, value: 0.8 },
    { kind: 'dwell', ts: T0 + 7, value: 35 },
    { kind: 'custom', ts: T0 + 8, name: 'newsletter', value: 1 },
  ];
  const code = new Map(eventKinds().map((k, i) => [k, i]));
  const col = (f, fill) => events.map((e) => e[f] ?? fill);
  const batch = {
    kind: Uint8Array.from(events, (e) => code.get(e.kind)),
    ts: Float64Array.from(col('ts', NaN)),
    value: Float64Array.from(col('value', NaN)),
    price: Float64Array.from(col('price', NaN)),
    category: col('category', null),
    item_id: col('item_id', null),
    query: col('query', undefined),
    name: col('name', null),
  };
  const a = create(7);
  const b = create(7);
  a.setNow(T0 + 10_000);
  b.setNow(T0 + 10_000);
  assert.equal(a.trackMany(events).accepted, events.length);
  assert.deepEqual(b.trackMany(batch), { accepted: events.length, rejected: [], rejected_count: 0 });
  assert.deepEqual(b.scores(), a.scores());
  assert.deepEqual(b.exportProfile().session, a.exportProfile().session);
  assert.equal(b.decide('hero-headline').variant_id, a.decide('hero-headline').variant_id);
  // A view into a larger buffer is read at its offset.
  const big = new Float64Array(10).fill(0.25);
  const c = create(7);
  c.setNow(T0 + 10_000);
  const r = c.trackMany({ kind: Uint8Array.of(code.get('scroll')), ts: Float64Array.of(T0 + 9), value: big.subarray(3, 4) });
  assert.equal(r.accepted, 1);
  assert.ok(memoryBytes() >= 1 << 20);
});

test('a columnar batch is refused with a message that names the column', () => {
  const e = create();
  const kind = Uint8Array.of(0, 0);
  const ts = Float64Array.of(NaN, NaN);
  throwsCode(() => e.trackMany({ kind, ts: Float64Array.of(NaN) }), 'invalid_argument');
  throwsCode(() => e.trackMany({ kind, ts: [1, 2] }), 'invalid_argument');
  throwsCode(() => e.trackMany({ kind: [0, 0], ts }), 'invalid_argument');
  throwsCode(() => e.trackMany({ kind, ts, values: ts }), 'invalid_argument');
  throwsCode(() => e.trackMany({ kind, ts, category: ['a', 3] }), 'invalid_argument');
  throwsCode(() => e.trackMany({ kind }), 'invalid_argument');
  // Per-row problems are reported per row; the valid rows are kept.
  const r = e.trackMany({ kind: Uint8Array.of(0, 200, 8), ts: Float64Array.of(NaN, NaN, NaN), value: Float64Array.of(NaN, NaN, 2) });
  assert.equal(r.accepted, 1);
  assert.deepEqual(r.rejected.map((x) => [x.index, x.code]), [[1, 'event_unknown_kind'], [2, 'event_invalid_value']]);
  assert.equal(e.state().events, 1);
});
