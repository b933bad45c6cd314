// The page never breaks: whatever fails — the wasm 404s, the config 404s, a model is corrupt,
// the CSP forbids WebAssembly, the browser has no WebAssembly — the default content is visible
// within the anti-flicker timeout, the error reaches the console once, and the page's own
// scripts keep working.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openPage, setup, watchHiding } from './harness.mjs';

const ANTI_FLICKER_MS = 300;
// Timers fire late on a loaded 2-core machine; the include reveals at once on failure, and at
// the latest when its 300 ms timer fires.
const SLACK_MS = 700;

let env;
before(async () => {
  env = await setup();
});
after(async () => {
  await env?.close();
});

const FAULTS = [
  ['the wasm module 404s', (page) => page.route('**/edgewise_bg.wasm', (r) => r.fulfill({ status: 404, body: 'gone' })), /wasm/],
  ['the config 404s', (page) => page.route('**/edgewise/config.json', (r) => r.fulfill({ status: 404, body: 'gone' })), /config/],
  ['a model is corrupt', (page) => page.route('**/models/purchase-lr.onnx', (r) => r.fulfill({ body: Buffer.from('this is not an onnx file at all') })), /model|onnx|protobuf/i],
  [
    'the CSP forbids WebAssembly',
    (page) =>
      page.route(/\/$|\/\?/, async (r) => {
        const resp = await r.fetch();
        const headers = { ...resp.headers(), 'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'" };
        await r.fulfill({ response: resp, headers });
      }),
    /wasm|WebAssembly|Content Security Policy/i,
  ],
  ['the browser has no WebAssembly', (page) => page.addInitScript(() => delete globalThis.WebAssembly), /WebAssembly/],
  ['the wasm module is garbage', (page) => page.route('**/edgewise_bg.wasm', (r) => r.fulfill({ body: Buffer.alloc(2048, 7), contentType: 'application/wasm' })), /wasm/],
];

for (const [name, inject, reason] of FAULTS) {
  test(`${name}: defaults visible in time, one console error, the page still works`, async () => {
    const { context, page, log } = await openPage(env);
    await watchHiding(page);
    await inject(page);
    await page.goto(env.url('/'));
    await page.waitForFunction(() => [...document.querySelectorAll('[data-ew-slot]')].every((el) => getComputedStyle(el).visibility === 'visible' && el.getAttribute('data-ew-state') !== 'pending'));
    const timing = await page.evaluate(() => Object.fromEntries([...window.__hidden].map(([slot, t]) => [slot, (window.__shown.get(slot)?.[0] ?? Infinity) - t])));
    for (const [slot, ms] of Object.entries(timing)) assert.ok(ms <= ANTI_FLICKER_MS + SLACK_MS, `${slot} hidden for ${ms} ms`);
    // Defaults: the markup's own content, untouched.
    const variants = await page.$$eval('[data-ew-slot]', (els) => els.map((e) => e.getAttribute('data-ew-variant')));
    assert.ok(variants.every((v) => v === null), `no variant applied: ${variants}`);
    // The error, once, saying what failed.
    await page.waitForTimeout(200);
    const ours = log.console.filter((m) => m.type === 'error' && m.text.startsWith('edgewise:'));
    assert.equal(ours.length, 1, JSON.stringify(log.console));
    assert.match(ours[0].text, reason);
    // The storefront's own scripts: the cart still counts.
    const before = await page.textContent('#cart-count');
    await page.click('[data-action="add"]');
    await page.waitForFunction((b) => document.querySelector('#cart-count').textContent !== b, before);
    // And the API stays callable without throwing.
    await page.evaluate(() => {
      window.edgewise.track({ kind: 'purchase', price: 10 });
      window.edgewise.setConsent({ personalization: true });
      window.edgewise.flush();
    });
    assert.deepEqual(log.errors, [], 'no uncaught exception');
    await context.close();
  });
}
