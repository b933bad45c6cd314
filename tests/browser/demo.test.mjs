// The demo storefront as a visitor meets it: the consent banner, the live panel (events,
// scores, each slot's variants with probabilities and estimates, consent, what would be synced),
// the "simulate 1,000 visitors" learning curve; a screenshot goes to target/test-output/browser/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { statSync } from 'node:fs';
import { openPage, outDir, ready, setup } from './harness.mjs';

let env;
before(async () => {
  env = await setup();
});
after(async () => {
  await env?.close();
});

test('the panel follows the session live and the simulation plots bandit vs A/B', async () => {
  const { context, page, log } = await openPage(env);
  await page.goto(env.url('/?ew_seed=5'));
  await ready(page);
  await page.click('#consent-accept');
  // A visitor browsing with the page's own buttons.
  const ids = await page.$$eval('#products article.card[data-product]', (els) => els.slice(0, 3).map((e) => e.getAttribute('data-product')));
  for (const id of ids) {
    await page.click(`[data-action="view"][data-id="${id}"]`);
    await page.click('#nav a[data-cat="all"]');
  }
  await page.click(`[data-action="add"][data-id="${ids[0]}"]`);
  await page.click('#redecide');
  await page.waitForFunction(() => document.querySelectorAll('#panel-events li, #panel-events [data-event]').length >= 4);
  const panel = await page.evaluate(() => ({
    events: document.querySelector('#panel-events').textContent,
    scores: document.querySelector('#panel-scores').textContent,
    slots: document.querySelector('#panel-slots').textContent,
    consent: [...document.querySelectorAll('#panel-consent tr[data-purpose]')].map((r) => `${r.dataset.purpose}=${r.dataset.allowed}`),
    sync: document.querySelector('#panel-sync').textContent,
    bars: document.querySelectorAll('#panel-slots svg rect, #panel-slots canvas').length,
  }));
  assert.match(panel.events, /add_to_cart/);
  assert.match(panel.events, /product_view/);
  assert.match(panel.scores, /purchase/);
  assert.match(panel.scores, /churn/);
  for (const slot of ['hero-headline', 'layout', 'offer']) assert.match(panel.slots, new RegExp(slot));
  assert.ok(panel.bars > 0, 'the slots are charted');
  for (const p of ['storage', 'personalization', 'measurement', 'profile_sync']) assert.ok(panel.consent.includes(`${p}=true`), `${p}: ${panel.consent}`);
  assert.match(panel.sync, /"outcomes"|outcomes/, 'with all purposes the profile payload is shown');

  await page.click('#simulate');
  await page.waitForFunction(() => /%/.test(document.querySelector('#sim-summary')?.textContent ?? ''), null, { timeout: 30_000 });
  const sim = await page.evaluate(() => ({
    summary: document.querySelector('#sim-summary').textContent,
    lines: document.querySelectorAll('#sim-chart path[data-series]').length,
  }));
  assert.ok(sim.lines >= 2, `bandit and A/B curves drawn: ${sim.lines}`);
  assert.match(sim.summary, /bandit/i);

  const file = path.join(outDir, 'demo.png');
  await page.screenshot({ path: file, fullPage: false });
  assert.ok(statSync(file).size > 10_000, 'a real screenshot');
  assert.deepEqual(log.errors, []);
  assert.deepEqual(log.console.filter((m) => m.type === 'error'), []);
  await context.close();
});
