// Consent in a real browser, watching every request the page makes: "reject" means no request
// to the sync endpoints and no storage key of ours; GPC blocks the profile sync even after
// "accept all"; withdrawing removes our keys. A positive control shows the sync request is
// seen when consent allows it, so the negative checks can fail.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openPage, ourStorageKeys, ready, setup, syncRequests } from './harness.mjs';

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
