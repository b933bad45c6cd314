// Fault injection in a real browser (issue 9, part 5): storage that is full or throws, storage
// tampered between page loads, a clock that jumps backwards, a model that arrives after the
// anti-flicker timeout or not at all, and a wasm instance that traps mid-session. In every case
// the page keeps working (its own cart, no uncaught exception), the include says what happened
// once, and nothing already stored is lost on a failed write (www/edgewise.js `persist`:
// write-new-then-swap; the snapshot's version and CRC-32 are checked on restore).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { openPage, ready, setup, watchHiding } from './harness.mjs';

const KEY = 'edgewise:state';
const ANTI_FLICKER_MS = 300;
const SLACK_MS = 700; // timers fire late on a loaded 2-core machine

let env;
before(async () => {
  env = await setup();
});
after(async () => {
  await env?.close();
});

/** A page whose 'restore' events are recorded in window.__restores (from the first load on). */
async function page(opts) {
  const p = await openPage(env, opts);
  await p.page.addInitScript(() => {
    window.__restores = [];
    (window.edgewise = window.edgewise || []).push(['on', 'restore', (r) => window.__restores.push(r)]);
  });
  return p;
}

async function acceptAll(page) {
  await page.click('#consent-accept');
  await page.waitForFunction(() => window.edgewise.inspect().state?.consent?.personalization === true);
}

/** A few events, a reward per decision, then store now. Returns the engine's event count. */
function shopAndStore(page) {
  return page.evaluate(() => {
    const ew = window.edgewise;
    ew.track({ kind: 'product_view', category: 'shoes', price: 120, item_id: 'sku-1' });
    ew.track({ kind: 'add_to_cart', category: 'shoes', price: 120, item_id: 'sku-1' });
    ew.refresh();
    for (const slot of Object.keys(ew.decisions())) ew.reward(slot, 1);
    ew.flush();
    return ew.inspect().state.total_events;
  });
}

const stored = (page) => page.evaluate((k) => [localStorage.getItem(k), localStorage.getItem(`${k}~`)], KEY);
const ourErrors = (log) => log.console.filter((m) => m.type === 'error' && m.text.startsWith('edgewise:'));
const totalEvents = (page) => page.evaluate(() => window.edgewise.inspect().state.total_events);

async function cartWorks(page) {
  const before = await page.textContent('#cart-count');
  await page.click('#products [data-action="add"]');
  await page.waitForFunction((b) => document.querySelector('#cart-count').textContent !== b, before);
}

/**
 * Leaves for a page of the same origin without the include (its pagehide stores the state as
 * usual), runs `meanwhile` there, and comes back.
 */
async function awayAndBack(page, meanwhile = async () => {}) {
  const url = page.url();
  await page.goto(env.url('/no-include-here'));
  await meanwhile();
  await page.goto(url);
  assert.equal((await ready(page)).ok, true);
  await page.waitForFunction(() => window.edgewise.inspect().state?.consent?.personalization === true);
}

async function reloadReady(page) {
  await page.reload();
  assert.equal((await ready(page)).ok, true);
  await page.waitForFunction(() => window.edgewise.inspect().state?.consent?.personalization === true);
}

test('storage full or throwing: one console line, the page works, and what was stored stays', async () => {
  const { context, page: p, log } = await page();
  await p.goto(env.url('/?ew_seed=21'));
  await ready(p);
  await acceptAll(p);
  const events1 = await shopAndStore(p);
  const [s1] = await stored(p);
  assert.ok(s1, 'a snapshot was stored');

  // 1. Every write of ours throws QuotaExceededError.
  const r = await p.evaluate((k) => {
    const real = Storage.prototype.setItem;
    window.__realSetItem = real;
    Storage.prototype.setItem = function (key, value) {
      if (key.startsWith(k)) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return real.call(this, key, value);
    };
    const ew = window.edgewise;
    const out = [ew.track({ kind: 'product_view', category: 'bags', price: 60 })];
    ew.flush();
    ew.track({ kind: 'purchase', price: 60 });
    ew.flush();
    return out;
  }, KEY);
  assert.deepEqual(r, [true], 'events are still taken');
  assert.deepEqual(await stored(p), [s1, null], 'the stored state is untouched');
  const full = ourErrors(log).filter((m) => /QuotaExceededError/.test(m.text));
  assert.equal(full.length, 1, `one console line: ${JSON.stringify(ourErrors(log))}`);
  await cartWorks(p);

  // 2. The quota runs out at the swap: the new state is complete under `~`, the old one under the key.
  const events2 = await p.evaluate((k) => {
    const real = window.__realSetItem;
    Storage.prototype.setItem = function (key, value) {
      if (key === k) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return real.call(this, key, value);
    };
    window.edgewise.track({ kind: 'search', query: 'boots' });
    window.edgewise.flush();
    return window.edgewise.inspect().state.total_events;
  }, KEY);
  // The page is left with the fault in place (its pagehide store fails the same way).
  await awayAndBack(p, async () => {
    const [main2, tmp2] = await stored(p);
    assert.equal(main2, s1, 'the old state is still under the key');
    assert.ok(tmp2 && tmp2 !== s1, 'the new state is under the ~ key');
  });
  const after2 = await p.evaluate(() => ({ restores: window.__restores, total: window.edgewise.inspect().state.total_events }));
  assert.equal(after2.restores.length, 1, JSON.stringify(after2.restores));
  assert.equal(after2.restores[0].error, undefined, 'the newer copy restored');
  assert.ok(after2.total > events2, `the newest state came back: ${events2} → ${after2.total}`);
  await p.waitForTimeout(400); // the debounced store swaps it back under the key
  await p.evaluate(() => window.edgewise.flush());
  const [main3, tmp3] = await stored(p);
  assert.ok(main3 && tmp3 === null, 'after a good store: one copy, under the key');

  // 3. A write cut short (a storage shim that truncates): the read-back differs, nothing is swapped.
  const events3 = await p.evaluate((k) => {
    const real = Storage.prototype.setItem;
    Storage.prototype.setItem = function (key, value) {
      return real.call(this, key, key === `${k}~` ? value.slice(0, value.length >> 1) : value);
    };
    window.edgewise.track({ kind: 'search', query: 'tents' });
    window.edgewise.flush();
    return window.edgewise.inspect().state.total_events;
  }, KEY);
  await awayAndBack(p, async () => {
    const [main4, tmp4] = await stored(p);
    assert.equal(main4, main3, 'the state under the key is the last good one');
    assert.ok(tmp4 && tmp4.length < main3.length, 'the cut-short copy is under ~ only');
  });
  const after3 = await p.evaluate(() => ({ restores: window.__restores, total: window.edgewise.inspect().state.total_events }));
  assert.equal(after3.restores.length, 2, `the cut copy is tried, dropped, then the good one: ${JSON.stringify(after3.restores)}`);
  assert.match(after3.restores[0].error, /^snapshot_/);
  assert.equal(after3.restores[1].error, undefined);
  assert.ok(after3.total >= events1, `the last good state came back: ${after3.total} events (cut write at ${events3})`);
  assert.deepEqual(log.errors, [], 'no uncaught exception');
  await context.close();
});

test('storage tampered between page loads: each kind starts fresh, quietly, and the page works', async () => {
  const { context, page: p, log } = await page();
  await p.goto(env.url('/?ew_seed=22'));
  await ready(p);
  await acceptAll(p);
  const events = await shopAndStore(p);
  const [good] = await stored(p);
  const bytes = Buffer.from(good, 'base64');
  const with_ = (f) => {
    const b = Buffer.from(bytes);
    f(b);
    return b.toString('base64');
  };
  // The payload edited and its CRC-32 recomputed: a checksum is not a signature. Format 2
  // (src/compact.rs): a one-entry map, {session: "not a session"} ("session" is dictionary
  // word 0, one byte; then a new 13-byte string).
  assert.equal(bytes.readUInt16LE(8), 2, 'the page stores format 2');
  const payload = Buffer.concat([Buffer.from([0x0f, 1, 0x10, 0x0a, 13]), Buffer.from('not a session')]);
  const header = Buffer.from(bytes.subarray(0, 18));
  header.writeUInt32LE(payload.length, 10);
  header.writeUInt32LE(zlibCrc32(payload), 14);
  const TAMPERED = {
    'bytes flipped': with_((b) => (b[b.length >> 1] ^= 0xff)),
    truncated: bytes.subarray(0, bytes.length >> 1).toString('base64'),
    'another format version': with_((b) => b.writeUInt16LE(0xee, 8)),
    'valid base64 of garbage': Buffer.from('not an edgewise snapshot at all, just bytes'.repeat(20)).toString('base64'),
    'not base64': '%%% <script>alert(1)</script> %%%',
    'checksum recomputed over an edited payload': Buffer.concat([header, payload]).toString('base64'),
  };
  const seen = {};
  for (const [what, value] of Object.entries(TAMPERED)) {
    // Tampered while no page of ours is open (a page's pagehide would store its state over it).
    await awayAndBack(p, () => p.evaluate(([k, v]) => localStorage.setItem(k, v), [KEY, value]));
    const r = await p.evaluate(() => ({
      restores: window.__restores,
      total: window.edgewise.inspect().state.total_events,
      applied: [...document.querySelectorAll('[data-ew-slot]')].every((e) => e.getAttribute('data-ew-state') === 'applied' && getComputedStyle(e).visibility === 'visible'),
    }));
    seen[what] = r.restores[0]?.error;
    assert.equal(r.restores.length, 1, `${what}: ${JSON.stringify(r.restores)}`);
    assert.ok(r.restores[0].error, `${what}: refused`);
    assert.ok(r.total < events, `${what}: a fresh session (${r.total} events)`);
    assert.ok(r.applied, `${what}: the slots are decided and visible`);
    await p.waitForTimeout(350); // the debounced store replaces the tampered value
    const [now] = await stored(p);
    assert.notEqual(now, value, `${what}: the tampered value is gone`);
  }
  console.log(`# tampered storage → ${JSON.stringify(seen)}`);
  assert.equal(seen['bytes flipped'], 'snapshot_checksum_mismatch');
  assert.equal(seen.truncated, 'snapshot_truncated');
  assert.equal(seen['another format version'], 'snapshot_unsupported_version');
  assert.equal(seen['valid base64 of garbage'], 'snapshot_not_recognized');
  assert.equal(seen['checksum recomputed over an edited payload'], 'snapshot_corrupt');
  assert.deepEqual(ourErrors(log), [], 'a refused snapshot is not a console error');
  assert.deepEqual(log.errors, [], 'no uncaught exception');
  await cartWorks(p);
  await context.close();
});

/** Sets Date.now and performance.now back by `ms` (in the page), or restores them (ms = 0). */
const shiftClock = (page, ms) =>
  page.evaluate((ms) => {
    window.__now ??= [Date.now, performance.now.bind(performance)];
    const [now, perf] = window.__now;
    Date.now = () => now() - ms;
    performance.now = () => perf() - ms;
  }, ms);

let trackedBehind = null; // set by the clock test

test('the clock jumps backwards: the page works, decisions go on, one console line; events resume when it is back', async () => {
  const { context, page: p, log } = await page();
  await p.goto(env.url('/?ew_seed=23'));
  await ready(p);
  await acceptAll(p);
  await shopAndStore(p);
  await shiftClock(p, 3600e3);
  const behind = await p.evaluate(() => {
    const ew = window.edgewise;
    const tracked = ew.track({ kind: 'product_view', category: 'bags', price: 40 });
    ew.refresh();
    const d = ew.decisions();
    const rewarded = Object.keys(d).map((s) => ew.reward(s, 1));
    ew.flush();
    return { tracked, sources: Object.values(d).map((x) => x.source), rewarded, ready: ew.inspect().ready };
  });
  trackedBehind = behind.tracked;
  await shiftClock(p, 0);
  const back = await p.evaluate(() => window.edgewise.track({ kind: 'product_view', category: 'bags', price: 40 }));
  console.log(`# clock 1 h behind: ${JSON.stringify(behind)}; back: track → ${back}; console: ${ourErrors(log).map((m) => m.text.slice(0, 140)).join(' | ')}`);
  assert.equal(behind.ready, true);
  assert.equal(behind.sources.length, 3, 'every slot decided while the clock is behind');
  assert.equal(back, true, 'events are taken again once the clock is back');
  assert.ok(ourErrors(log).length <= 2, 'at most a line for the refused event and one for the reward');
  assert.deepEqual(log.errors, []);
  // Between page loads: the next page starts two days in the past.
  await context.addInitScript(() => {
    const now = Date.now;
    Date.now = () => now() - 2 * 86400e3;
  });
  await reloadReady(p);
  const next = await p.evaluate(() => ({ restores: window.__restores, tracked: window.edgewise.track({ kind: 'search', query: 'tent' }) }));
  console.log(`# next page two days in the past: ${JSON.stringify(next)}`);
  assert.deepEqual(log.errors, []);
  await cartWorks(p);
  await context.close();
});

test(
  'events tracked while the clock is behind are kept (the engine clock never goes back)',
  () => {
    assert.equal(trackedBehind, true, 'track() while the clock is 1 h behind (measured by the clock test)');
  },
);

test('a model slower than the anti-flicker timeout: defaults shown in time, the decision applied when it arrives', async () => {
  const { context, page: p, log } = await page();
  await watchHiding(p);
  // A returning visitor who accepted before: the first decision would personalize.
  await p.addInitScript(() => localStorage.setItem('demo-consent', JSON.stringify({ storage: true, personalization: true, measurement: true, profile_sync: true, at: Date.now(), v: 1 })));
  const DELAY = 1500;
  await p.route('**/models/purchase-lr.onnx', async (r) => {
    await new Promise((res) => setTimeout(res, DELAY));
    await r.continue();
  });
  await p.goto(env.url('/?ew_seed=24'));
  await p.waitForFunction(() => window.__shown.size === 3);
  const early = await p.evaluate(() => ({
    shown: [...window.__shown].map(([slot, [t, state]]) => [slot, t - window.__hidden.get(slot), state]),
    variants: [...document.querySelectorAll('[data-ew-slot]')].map((e) => e.getAttribute('data-ew-variant')),
  }));
  for (const [slot, ms, state] of early.shown) {
    assert.equal(state, 'timeout', `${slot} revealed by the timeout`);
    assert.ok(ms <= ANTI_FLICKER_MS + SLACK_MS, `${slot} hidden for ${ms} ms`);
  }
  assert.ok(early.variants.every((v) => v === null), 'the defaults, untouched, while the model is on its way');
  assert.equal((await ready(p)).ok, true);
  const late = await p.evaluate(() => [...document.querySelectorAll('[data-ew-slot]')].map((e) => [e.getAttribute('data-ew-state'), e.getAttribute('data-ew-variant'), e.getAttribute('data-ew-source')]));
  console.log(`# slow model (${DELAY} ms): revealed by the timeout after ${early.shown.map(([, ms]) => Math.round(ms)).join('/')} ms; when it arrived: ${JSON.stringify(late)}`);
  // What the include does when the model arrives late: it decides then and applies the decision
  // (the content may change after it was shown, as with any client-side testing tool).
  assert.ok(late.every(([state, variant]) => state === 'applied' && variant), JSON.stringify(late));
  assert.deepEqual(ourErrors(log), []);
  assert.deepEqual(log.errors, []);
  await context.close();
});

test('a model request that fails: defaults at once, one console line naming it, the page works', async () => {
  const { context, page: p, log } = await page();
  await p.route('**/models/churn-mlp.onnx', (r) => r.abort('connectionreset'));
  await p.goto(env.url('/'));
  assert.equal((await ready(p)).ok, false);
  const states = await p.$$eval('[data-ew-slot]', (els) => els.map((e) => [e.getAttribute('data-ew-state'), getComputedStyle(e).visibility]));
  // `timeout` when the anti-flicker timer fired before the failure was known.
  assert.ok(states.every(([s, v]) => /^(default|timeout)$/.test(s) && v === 'visible'), JSON.stringify(states));
  await p.waitForTimeout(200);
  const ours = ourErrors(log);
  assert.equal(ours.length, 1, JSON.stringify(ours));
  assert.match(ours[0].text, /churn-mlp|model/);
  await p.evaluate(() => {
    window.edgewise.track({ kind: 'purchase', price: 1 });
    window.edgewise.flush();
  });
  await cartWorks(p);
  assert.deepEqual(log.errors, []);
  await context.close();
});

test('wasm trap mid-session (a clock import that throws once): the instance is dropped, the last good snapshot restored, the page works', async () => {
  const { context, page: p, log } = await page();
  await p.goto(env.url('/?ew_seed=25'));
  await ready(p);
  await acceptAll(p);
  const before = await shopAndStore(p);
  const r = await p.evaluate(() => {
    const ew = window.edgewise;
    const held = ew.engine;
    const exportsBefore = ew.module.initSync();
    // A page script's broken clock: Date.now throws once, inside a call into the module (the
    // exception unwinds through the wasm frames and leaves the engine's state borrowed).
    const now = Date.now;
    let n = 0;
    Date.now = function () {
      if (n++ === 0) throw new Error('clock exploded');
      return now.call(Date);
    };
    const during = ew.track({ kind: 'product_view', category: 'shoes' });
    Date.now = now;
    const out = { during, fresh: ew.engine !== held, newInstance: ew.module.initSync() !== exportsBefore };
    out.total = ew.inspect().state.total_events;
    out.after = ew.track({ kind: 'product_view', category: 'shoes' });
    ew.refresh();
    out.decided = Object.values(ew.decisions()).map((d) => d.source);
    ew.flush();
    try {
      held.state();
      out.oldHandle = 'still usable?!';
    } catch (e) {
      out.oldHandle = String(e.message);
    }
    return out;
  });
  console.log(`# trap via a throwing import: ${JSON.stringify(r)}; console: ${ourErrors(log).map((m) => m.text.slice(0, 120)).join(' | ')}`);
  assert.equal(r.during, false, 'the call that trapped reports failure');
  assert.ok(r.fresh && r.newInstance, 'a new engine on a new instance');
  assert.ok(r.total >= before, `restored from the last good snapshot: ${before} → ${r.total} events`);
  assert.equal(r.after, true, 'events are taken again');
  assert.equal(r.decided.length, 3);
  assert.match(r.oldHandle, /null pointer/, 'the dropped engine handle is inert, not a pointer into the new instance');
  assert.equal(ourErrors(log).length, 1, 'one console line');
  assert.deepEqual(log.errors, []);
  await cartWorks(p);
  // The next page restores what the revived engine stored.
  await reloadReady(p);
  assert.ok((await totalEvents(p)) > r.total);
  await context.close();
});

test('wasm trap mid-session (memory exhausted: RuntimeError unreachable): recovered on a new instance, the page works', async () => {
  const { context, page: p, log } = await page();
  await p.goto(env.url('/?ew_seed=26'));
  await ready(p);
  await acceptAll(p);
  const before = await shopAndStore(p);
  const r = await p.evaluate(() => {
    const ew = window.edgewise;
    const mem = () => ew.module.initSync().memory;
    const out = { pagesBefore: mem().buffer.byteLength / 65536 };
    // Something grew the module's memory to its limit (4 GiB): the next allocation that needs
    // more aborts, which in wasm is a trap.
    try {
      mem().grow(65536 - out.pagesBefore - 1);
    } catch (e) {
      out.grow = String(e);
    }
    try {
      ew.engine.trackMany(Array.from({ length: 60000 }, () => ({ kind: 'search', query: 'y'.repeat(100) })));
      out.trap = 'none';
    } catch (e) {
      out.trap = `${e.constructor.name}: ${e.message}`;
    }
    out.during = ew.track({ kind: 'product_view', category: 'shoes' });
    out.after = ew.track({ kind: 'product_view', category: 'shoes' });
    out.total = ew.inspect().state.total_events;
    ew.refresh();
    out.decided = Object.values(ew.decisions()).length;
    out.pagesAfter = mem().buffer.byteLength / 65536;
    ew.flush();
    return out;
  });
  console.log(`# trap via exhausted memory: ${JSON.stringify(r)}; console: ${ourErrors(log).map((m) => m.text.slice(0, 120)).join(' | ')}`);
  assert.match(r.trap, /^RuntimeError/, 'a real wasm trap');
  assert.equal(r.during, false, 'the first call after the trap fails and drops the instance');
  assert.equal(r.after, true, 'the next one works on the new instance');
  assert.ok(r.total >= before, `restored from the last good snapshot: ${before} → ${r.total}`);
  assert.ok(r.pagesAfter < 1000, `the new instance has a small memory again: ${r.pagesAfter} pages`);
  assert.equal(r.decided, 3);
  assert.equal(ourErrors(log).length, 1, 'one console line');
  assert.deepEqual(log.errors, []);
  await cartWorks(p);
  await context.close();
});

