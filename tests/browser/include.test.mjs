// The script include on the demo storefront in headless Chromium: it personalizes after a
// session, restores what it learned on reload (with storage consent), applies hostile variant
// content as inert text, shows the debug overlay, follows SPA navigations, and runs under the
// strict CSP the server sends (script-src 'self' 'wasm-unsafe-eval').
// Run: node --test tests/browser/   (after `make wasm`)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { openPage, ready, root, setup } from './harness.mjs';

const engineConfig = JSON.parse(readFileSync(path.join(root, 'www/demo/config.json'), 'utf8'));
const defaults = Object.fromEntries(engineConfig.slots.map((s) => [s.id, s.default]));
let env;
before(async () => {
  env = await setup();
});
after(async () => {
  await env?.close();
});

async function acceptAll(page) {
  await page.click('#consent-accept');
  await page.waitForFunction(() => window.edgewise.inspect().state?.consent?.personalization === true);
}

/** A shopper: three product views in one category, something in the cart. */
async function shop(page) {
  await page.evaluate(() => {
    const ew = window.edgewise;
    ew.track({ kind: 'product_view', category: 'shoes', price: 120, item_id: 'sku-1' });
    ew.track({ kind: 'product_view', category: 'shoes', price: 95, item_id: 'sku-2' });
    ew.track({ kind: 'product_view', category: 'bags', price: 60, item_id: 'sku-3' });
    ew.track({ kind: 'add_to_cart', category: 'shoes', price: 95, item_id: 'sku-2' });
  });
}

/** What each marked element shows, and the decision the include says it applied. */
function slotsOnPage(page) {
  return page.evaluate(() => {
    const out = {};
    for (const el of document.querySelectorAll('[data-ew-slot]')) {
      const slot = el.getAttribute('data-ew-slot');
      out[slot] = {
        variant: el.getAttribute('data-ew-variant'),
        source: el.getAttribute('data-ew-source'),
        state: el.getAttribute('data-ew-state'),
        text: el.textContent.trim(),
        classes: [...el.classList],
        fields: Object.fromEntries([...el.querySelectorAll('[data-ew-field]')].map((f) => [f.getAttribute('data-ew-field'), f.textContent])),
        visible: getComputedStyle(el).visibility === 'visible',
      };
    }
    return out;
  });
}

test('after a scripted session the slots show variants the engine chose, applied as text', async () => {
  const { context, page, log } = await openPage(env);
  await page.goto(env.url('/?ew_seed=7'));
  assert.equal((await ready(page)).ok, true);
  // Before consent: every slot shows its default, and says why.
  let slots = await slotsOnPage(page);
  for (const [slot, s] of Object.entries(slots)) {
    assert.equal(s.variant, defaults[slot], `${slot} before consent`);
    assert.equal(s.source, 'no_consent');
    assert.ok(s.visible, `${slot} visible`);
  }
  await acceptAll(page);
  await shop(page);
  let personalized = [];
  for (let i = 0; i < 5 && personalized.length === 0; i++) {
    await page.evaluate(() => window.edgewise.refresh());
    slots = await slotsOnPage(page);
    personalized = Object.entries(slots).filter(([slot, s]) => s.variant !== defaults[slot]);
  }
  assert.ok(personalized.length > 0, `some slot personalized: ${JSON.stringify(slots)}`);
  const decisions = await page.evaluate(() => window.edgewise.decisions());
  for (const [slot, s] of personalized) {
    const d = decisions[slot];
    assert.equal(s.variant, d.variant_id);
    assert.ok(['explore', 'exploit', 'rule'].includes(d.source), `${slot}: ${d.source}`);
    const variant = engineConfig.slots.find((x) => x.id === slot).variants.find((v) => v.id === d.variant_id);
    if (variant.kind === 'copy') assert.equal(s.text, variant.content);
    if (variant.kind === 'layout') assert.ok(s.classes.includes(variant.content), `${slot}: class ${variant.content}`);
    if (variant.kind === 'offer') for (const [k, v] of Object.entries(variant.content)) assert.equal(s.fields[k], v, `${slot}.${k}`);
  }
  assert.deepEqual(log.errors, []);
  await context.close();
});

test('with storage consent a reload restores the learned state', async () => {
  const { context, page } = await openPage(env);
  await page.goto(env.url('/?ew_seed=11'));
  await ready(page);
  await acceptAll(page);
  await shop(page);
  await page.evaluate(() => window.edgewise.refresh());
  const before = await page.evaluate(() => {
    const ew = window.edgewise;
    for (const slot of Object.keys(ew.decisions())) ew.reward(slot, 1);
    ew.flush();
    const m = JSON.parse(ew.inspect().measurement.payload);
    return {
      events: ew.inspect().state.total_events,
      reward: m.outcomes.flatMap((s) => s.variants).reduce((a, v) => a + v.reward, 0),
      stored: localStorage.getItem('edgewise:state')?.length ?? 0,
    };
  });
  assert.ok(before.reward >= 1, `rewards learned before the reload: ${JSON.stringify(before)}`);
  assert.ok(before.stored > 0, 'a persistent snapshot in localStorage');

  await page.reload();
  await ready(page);
  const afterReload = await page.evaluate(() => {
    const ew = window.edgewise;
    const m = JSON.parse(ew.inspect().measurement.payload);
    return {
      events: ew.inspect().state.total_events,
      notes: ew.inspect().state.restore_notes,
      reward: m.outcomes.flatMap((s) => s.variants).reduce((a, v) => a + v.reward, 0),
    };
  });
  assert.deepEqual(afterReload.notes, []);
  assert.ok(afterReload.events > before.events, `the session continues: ${before.events} → ${afterReload.events}`);
  assert.equal(afterReload.reward, before.reward, 'what the policies learned came back');
  await context.close();
});

const PAYLOADS = {
  img: '<img src=x onerror="window.__pwned=(window.__pwned||0)+1">',
  script: '<script>window.__pwned=(window.__pwned||0)+1<\/script>',
  js: 'javascript:window.__pwned=(window.__pwned||0)+1',
  svg: '<svg onload="window.__pwned=(window.__pwned||0)+1"></svg>',
};

test('variant content that is an XSS payload is shown as inert text and nothing runs', async () => {
  const { context, page, log } = await openPage(env);
  // A config whose rules leave exactly one eligible variant per slot: the hostile one.
  const hostile = structuredClone(engineConfig);
  hostile.holdout = 0;
  const never = 'events < 0';
  for (const s of hostile.slots) for (const v of s.variants) v.eligibility = never;
  hostile.slots[0].variants.push({ id: 'xss-copy', kind: 'copy', content: `${PAYLOADS.img} ${PAYLOADS.script}` });
  // A well-formed class the page did not allow-list (data-ew-layouts / layout_classes).
  hostile.slots[1].variants.push({ id: 'xss-layout', kind: 'layout', content: 'full-screen-overlay' });
  hostile.slots[2].variants.push({ id: 'xss-offer', kind: 'offer', content: { title: PAYLOADS.svg, cta: PAYLOADS.js } });
  await page.route('**/edgewise/engine/config.json', (r) => r.fulfill({ json: hostile }));
  await page.goto(env.url('/'));
  await ready(page);
  await acceptAll(page);
  const slots = await slotsOnPage(page);
  assert.equal(slots['hero-headline'].variant, 'xss-copy');
  assert.equal(slots['hero-headline'].text, `${PAYLOADS.img} ${PAYLOADS.script}`);
  assert.equal(slots.offer.variant, 'xss-offer');
  assert.equal(slots.offer.fields.title, PAYLOADS.svg);
  assert.equal(slots.offer.fields.cta, PAYLOADS.js);
  // The layout class is not on the allow-list: the default layout stays, and the console says so.
  assert.notEqual(slots.layout.variant, 'xss-layout');
  assert.ok(!slots.layout.classes.includes('full-screen-overlay'));
  assert.ok(log.console.some((m) => m.type === 'error' && /allow-list/.test(m.text)), 'the refused layout is reported');
  const dom = await page.evaluate(() => ({
    pwned: window.__pwned,
    // Copy and offer fields hold text only: not one element inside them.
    injected: document.querySelectorAll('[data-ew-slot="hero-headline"] *, [data-ew-slot="offer"] [data-ew-field] *, [onerror], [onload]:not(body), a[href^="javascript"]').length,
  }));
  await page.hover('[data-ew-slot="layout"]').catch(() => {});
  await page.waitForTimeout(100);
  assert.equal(dom.injected, 0, 'no element was created from variant content');
  assert.equal(await page.evaluate(() => window.__pwned), undefined, 'no payload ran');
  assert.deepEqual(log.dialogs, []);
  await context.close();
});

test('a layout variant that is not a class name is refused with the config: defaults, one console line', async () => {
  const { context, page, log } = await openPage(env);
  const hostile = structuredClone(engineConfig);
  hostile.slots[1].variants.push({ id: 'xss-layout', kind: 'layout', content: 'ew-list" onmouseover="window.__pwned=1' });
  await page.route('**/edgewise/engine/config.json', (r) => r.fulfill({ json: hostile }));
  await page.goto(env.url('/'));
  assert.equal((await ready(page)).ok, false);
  await page.click('#consent-accept');
  const slots = await slotsOnPage(page);
  for (const s of Object.values(slots)) assert.ok(s.visible && s.variant === null, JSON.stringify(s));
  const ours = log.console.filter((m) => m.type === 'error' && m.text.startsWith('edgewise:'));
  assert.equal(ours.length, 1);
  assert.match(ours[0].text, /layout content must be one class name/);
  await page.hover('[data-ew-slot="layout"]');
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  await context.close();
});

test('?ew_debug=1 shows each slot’s decision, source and reasons', async () => {
  const { context, page } = await openPage(env);
  await page.goto(env.url('/?ew_debug=1&ew_seed=3'));
  await ready(page);
  await acceptAll(page);
  const rows = await page.$$eval('[data-ew-debug] [data-ew-debug-slot]', (els) => els.map((e) => e.textContent));
  assert.equal(rows.length, engineConfig.slots.length);
  for (const slot of engineConfig.slots) {
    const row = rows.find((r) => r.startsWith(`${slot.id} → `));
    assert.ok(row, `a row for ${slot.id}: ${rows}`);
    assert.match(row, /\[(explore|exploit|rule|default|no_consent|holdout|session_only), p=/);
  }
  await context.close();
});

test('History API navigations count as page views; no CSP violation on the way', async () => {
  const { context, page, log } = await openPage(env);
  await page.goto(env.url('/'));
  await ready(page);
  await acceptAll(page);
  const views = () => page.evaluate(() => window.edgewise.inspect().events.filter((e) => e.kind === 'page_view').length);
  const n = await views();
  await page.evaluate(() => history.pushState({}, '', '/gear/shoes'));
  await page.evaluate(() => history.pushState({}, '', '/gear/bags'));
  await page.goBack();
  await page.waitForFunction((k) => window.edgewise.inspect().events.filter((e) => e.kind === 'page_view').length >= k, n + 3);
  assert.equal(await views(), n + 3);
  const violations = log.console.filter((m) => /Content Security Policy|Refused to/.test(m.text));
  assert.deepEqual(violations, [], 'the include and the demo run under the strict CSP');
  assert.deepEqual(log.errors, []);
  await context.close();
});
