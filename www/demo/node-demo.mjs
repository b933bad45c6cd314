// `make demo`: scripted storefront sessions through the wasm module (pkg/node) with the bundled
// ONNX models, printing every decision with its source, probability, scores and reasons; then a
// learning run showing the policy shift its allocation toward the headline that converts.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { Engine, version } = createRequire(import.meta.url)(path.join(root, 'pkg/node/edgewise.js'));

const config = JSON.parse(readFileSync(path.join(root, 'www/demo/config.json'), 'utf8'));
const models = ['purchase-lr', 'purchase-gbt', 'churn-mlp'].map((name) => ({
  manifest: readFileSync(path.join(root, 'models', `${name}.json`), 'utf8'),
  onnx: new Uint8Array(readFileSync(path.join(root, 'models', `${name}.onnx`))),
}));
const T0 = Date.parse('2026-11-23T10:00:00Z');
const slots = ['hero-headline', 'layout', 'offer'];

function show(title, engine) {
  console.log(`\n── ${title}`);
  const scores = engine.scores();
  console.log(`   scores: ${Object.entries(scores).map(([k, v]) => `${k}=${v.toFixed(3)}`).join('  ')}`);
  for (const slot of slots) {
    const d = engine.decide(slot);
    const content = typeof d.content === 'string' ? d.content : Object.values(d.content).join(' / ');
    console.log(`   ${slot.padEnd(14)} → ${d.variant_id.padEnd(14)} [${d.source}, p=${d.probability.toFixed(3)}] "${content}"`);
    for (const r of d.reasons) console.log(`   ${' '.repeat(17)}· ${r}`);
  }
}

console.log(`edgewise ${version()} — wasm module in Node ${process.version}; models: ${models.length}`);

// 1. A shopper who is ready to buy.
const buyer = Engine.create({ ...config, holdout: 0 }, models, { seed: 1, now: T0 });
buyer.setConsent({ personalization: true, storage: true });
buyer.setContext({ device: 'desktop', hour_of_day: 10 });
buyer.setNow(T0 + 240_000);
buyer.trackMany([
  { kind: 'page_view', ts: T0 },
  { kind: 'product_view', ts: T0 + 20_000, category: 'shoes', price: 89, item_id: 'sku-101' },
  { kind: 'dwell', ts: T0 + 60_000, value: 40 },
  { kind: 'product_view', ts: T0 + 80_000, category: 'shoes', price: 79, item_id: 'sku-102' },
  { kind: 'scroll', ts: T0 + 90_000, value: 0.9 },
  { kind: 'add_to_cart', ts: T0 + 120_000, category: 'shoes', price: 79, item_id: 'sku-102' },
  { kind: 'checkout_start', ts: T0 + 200_000 },
]);
show('visitor 1: ready to buy (2 product views, 79 in the cart, checkout started), consented', buyer);

// 2. A visitor about to leave.
const leaver = Engine.create({ ...config, holdout: 0 }, models, { seed: 2, now: T0 });
leaver.setConsent({ personalization: true });
leaver.setContext({ device: 'mobile', hour_of_day: 23 });
leaver.setNow(T0 + 15_000);
leaver.trackMany([
  { kind: 'page_view', ts: T0 },
  { kind: 'scroll', ts: T0 + 4_000, value: 0.1 },
  { kind: 'dwell', ts: T0 + 6_000, value: 2 },
]);
show('visitor 2: one page, 10% scroll, 2 s dwell, on mobile at 23:00', leaver);

// 3. No consent: defaults everywhere, nothing scored.
const anon = Engine.create(config, models, { seed: 3, now: T0 });
anon.track({ kind: 'page_view', ts: T0 });
console.log('\n── visitor 3: no consent given');
for (const slot of slots) {
  const d = anon.decide(slot);
  console.log(`   ${slot.padEnd(14)} → ${d.variant_id.padEnd(14)} [${d.source}] ${d.reasons[0]}`);
}

// 4. Learning: one engine, 1,500 headline decisions; "detailed" converts 12%, the others 4%.
// With something in the cart, welcome, urgent and detailed are eligible (comeback needs churn >= 0.5).
const rate = { welcome: 0.04, urgent: 0.04, detailed: 0.12, comeback: 0.04 };
const learner = Engine.create({ ...config, holdout: 0 }, models, { seed: 4, now: T0 });
learner.setConsent({ personalization: true });
learner.trackMany([
  { kind: 'page_view', ts: T0 },
  { kind: 'add_to_cart', ts: T0 + 500, category: 'bags', price: 45 },
]);
let rnd = 12345;
const uniform = () => ((rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0) / 2 ** 32);
const phases = [];
const fresh = () => ({ welcome: 0, urgent: 0, detailed: 0 });
let counts = fresh();
let converted = 0;
for (let i = 1; i <= 1500; i++) {
  learner.setNow(T0 + i * 1000);
  const d = learner.decide('hero-headline');
  counts[d.variant_id] = (counts[d.variant_id] ?? 0) + 1;
  const r = uniform() < rate[d.variant_id] ? 1 : 0;
  converted += r;
  learner.reward(d.decision_id, r);
  if (i % 300 === 0) {
    phases.push({ decisions: `${i - 299}-${i}`, ...counts, conversions: converted });
    counts = fresh();
    converted = 0;
  }
}
console.log('\n── learning: 1,500 hero decisions in one engine; eligible welcome, urgent, detailed; true conversion 4%, 4%, 12%');
console.table(phases);
const last = learner.decide('hero-headline');
console.log(`   now: ${last.variant_id} [${last.source}] — ${last.reasons.filter((r) => r.startsWith('epsilon')).join('')}`);
for (const e of [buyer, leaver, anon, learner]) e.free();
