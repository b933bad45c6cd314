// Consent in a real browser, watching every request the page makes: "reject" means no request
// to the sync endpoints and no storage key of ours; GPC blocks the profile sync even after
// "accept all"; withdrawing removes our keys. A positive control shows the sync request is
// seen when consent allows it, so the negative checks can fail. TCF (a CMP stub on __tcfapi with
// real TC strings from the fixtures) and Consent Mode (gtag in the dataLayer) drive the engine.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { openPage, ourStorageKeys, ready, root, setup, syncRequests } from './harness.mjs';

let env;
before(async () => {
  env = await setup();
});
after(async () => {
  await env?.close();
});

/** A whole visit: browse, buy, flush, navigate, leave (pagehide) — every chance to sync. */
async function visit(page) {
  await page.evaluate(() => {
    const ew = window.edgewise;
    ew.track({ kind: 'product_view', category: 'shoes', price: 120, item_id: 'sku-1' });
    ew.track({ kind: 'add_to_cart', category: 'shoes', price: 120, item_id: 'sku-1' });
    ew.refresh();
    for (const slot of Object.keys(ew.decisions())) ew.reward(slot, 1);
    ew.track({ kind: 'purchase', price: 120 });
    ew.flush();
    history.pushState({}, '', '/gear/shoes');
  });
  await page.waitForTimeout(400); // the include's debounced persist
  await page.goto(env.url('/cart'));
  await ready(page);
  await page.evaluate(() => window.edgewise.flush());
}

test('positive control: with all purposes, the profile and measurement are synced', async () => {
  const { context, page, log } = await openPage(env);
  await page.goto(env.url('/'));
  await ready(page);
  await page.click('#consent-accept');
  await visit(page);
  const paths = syncRequests(log).map((r) => new URL(r.url).pathname);
  assert.ok(paths.includes('/api/profile'), `profile sync seen: ${paths}`);
  assert.ok(paths.includes('/api/measure'), `measurement seen: ${paths}`);
  assert.ok((await ourStorageKeys(page)).includes('edgewise:state'));
  await context.close();
});

test('reject: no request to the sync endpoints, ever, and no storage key of ours', async () => {
  const { context, page, log } = await openPage(env);
  await page.goto(env.url('/'));
  await ready(page);
  await page.click('#consent-reject');
  await visit(page);
  await page.reload();
  await ready(page);
  await page.evaluate(() => window.edgewise.flush());
  assert.deepEqual(await ourStorageKeys(page), [], 'no key of ours in localStorage or sessionStorage');
  await context.close(); // pagehide: the include's last chance to send
  assert.deepEqual(syncRequests(log), []);
});

test('GPC: no profile sync even after "accept all"', async () => {
  const { context, page, log } = await openPage(env, { gpc: true });
  await page.goto(env.url('/'));
  await ready(page);
  assert.equal(await page.evaluate(() => navigator.globalPrivacyControl), true);
  await page.click('#consent-accept');
  await visit(page);
  const refusal = await page.evaluate(() => window.edgewise.inspect().sync);
  assert.equal(refusal.ok, false);
  await context.close();
  const profile = syncRequests(log).filter((r) => new URL(r.url).pathname === '/api/profile');
  assert.deepEqual(profile, [], 'GPC refuses the profile sync');
});

test('withdrawing consent removes our storage keys and the engine forgets', async () => {
  const { context, page } = await openPage(env);
  await page.goto(env.url('/'));
  await ready(page);
  await page.click('#consent-accept');
  await visit(page);
  assert.ok((await ourStorageKeys(page)).length > 0, 'state stored with consent');
  await page.click('#consent-withdraw');
  await page.waitForTimeout(400);
  assert.deepEqual(await ourStorageKeys(page), []);
  const st = await page.evaluate(() => window.edgewise.inspect());
  assert.equal(st.state.consent.personalization, false);
  assert.equal(st.sync.ok, false);
  for (const d of Object.values(st.decisions)) assert.equal(d.source, 'no_consent');
  await page.reload();
  await ready(page);
  assert.deepEqual(await ourStorageKeys(page), [], 'nothing comes back after a reload');
  await context.close();
});

const tcf = JSON.parse(readFileSync(path.join(root, 'tests/fixtures/tcf/valid.json'), 'utf8'));
const ALL = tcf.find((c) => [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].every((p) => c.expected.purposeConsents.includes(p))).string;
const NONE = tcf.find((c) => c.expected.purposeConsents.length === 0 && c.expected.purposeLegitimateInterests.length === 0).string;

const purposes = (page) => page.evaluate(() => window.edgewise.inspect().state.consent);

test('TCF: the CMP’s TC strings reach the engine through __tcfapi, at load and on every change', async () => {
  const { context, page } = await openPage(env);
  // A CMP stub as sites install it: the UI is shown first, then the visitor decides, twice.
  await page.addInitScript(({ all, none }) => {
    const listeners = [];
    window.__tcfapi = (cmd, version, cb) => {
      if (cmd !== 'addEventListener' || version !== 2) return;
      listeners.push(cb);
      cb({ gdprApplies: true, eventStatus: 'cmpuishown', tcString: '' }, true);
    };
    window.__decide = (which) => {
      for (const cb of listeners) cb({ gdprApplies: true, eventStatus: 'useractioncomplete', tcString: which === 'all' ? all : none }, true);
    };
  }, { all: ALL, none: NONE });
  await page.goto(env.url('/'));
  await ready(page);
  assert.equal((await purposes(page)).personalization, false, 'nothing before the visitor decides');
  await page.evaluate(() => window.__decide('all'));
  let p = await purposes(page);
  assert.ok(p.personalization && p.storage && p.measurement, JSON.stringify(p));
  const receipt = await page.evaluate(() => window.edgewise.inspect().receipt);
  assert.match(JSON.stringify(receipt), /"tcf"/, 'the receipt names TCF as the source');
  const decided = await page.evaluate(() => Object.values(window.edgewise.decisions()).map((d) => d.source));
  assert.ok(decided.every((s) => s !== 'no_consent'), `slots decided again after consent: ${decided}`);
  await page.evaluate(() => window.__decide('none'));
  p = await purposes(page);
  assert.ok(!p.personalization && !p.storage, JSON.stringify(p));
  assert.deepEqual(await ourStorageKeys(page), [], 'the state went with the consent');
  await context.close();
});

test('Consent Mode: gtag consent defaults and updates in the dataLayer reach the engine', async () => {
  const { context, page } = await openPage(env);
  await page.addInitScript(() => {
    window.dataLayer = window.dataLayer || [];
    window.gtag = function () {
      window.dataLayer.push(arguments);
    };
    window.gtag('consent', 'default', { ad_storage: 'denied', analytics_storage: 'denied', ad_user_data: 'denied', ad_personalization: 'denied' });
  });
  await page.goto(env.url('/'));
  await ready(page);
  assert.equal((await purposes(page)).personalization, false);
  await page.evaluate(() => window.gtag('consent', 'update', { analytics_storage: 'granted', ad_personalization: 'granted' }));
  const p = await purposes(page);
  assert.ok(p.personalization && p.storage && p.measurement, JSON.stringify(p));
  assert.equal(p.profile_sync, false, 'ad_user_data is still denied');

  // What was learned survives the next page, whose dataLayer says "default denied" again
  // before the same update: the restored engine is given each source's final word, not a
  // denial first (which would wipe it).
  const learned = await page.evaluate(() => {
    const ew = window.edgewise;
    ew.track({ kind: 'product_view', category: 'shoes', price: 120 });
    ew.refresh();
    for (const slot of Object.keys(ew.decisions())) ew.reward(slot, 1);
    ew.flush();
    return ew.inspect().state.total_events;
  });
  await page.addInitScript(() => {
    addEventListener('DOMContentLoaded', () => window.gtag('consent', 'update', { analytics_storage: 'granted', ad_personalization: 'granted' }));
  });
  await page.reload();
  await ready(page);
  await page.waitForFunction(() => window.edgewise.inspect().state.consent.storage === true);
  const next = await page.evaluate(() => {
    const st = window.edgewise.inspect().state;
    return { events: st.total_events, notes: st.restore_notes, pending: st.pending_rewards };
  });
  assert.deepEqual(next.notes, []);
  assert.ok(next.events > learned, `the restored session continues: ${learned} → ${JSON.stringify(next)}`);
  await context.close();
});
