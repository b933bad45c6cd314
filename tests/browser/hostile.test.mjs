// Hostile content in a real browser (issue 9, part 4). Every payload of tests/hostile/xss-payloads.json
// goes through the script include on the demo storefront as copy content, offer fields, layout
// content, config values (slot/variant ids, tags, storage prefix, layout classes, reward names,
// sync URLs), markup slot ids and event strings — and nothing runs. The page is served WITHOUT its
// CSP here (and with a report-only copy of it), so an injected handler would run: the canary
// (alert/confirm/prompt replaced), the dialog listener, a MutationObserver that flags every
// element or attribute a payload would create, securitypolicyviolation events and the network log
// must all stay empty. A positive control injects the same payloads with innerHTML and sees the
// canary fire, so the negative checks can fail. Oversized input (1 MB strings, 10^6-event bursts,
// deeply nested JSON) is refused or bounded, within bounded time; the numbers are printed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { openPage, ready, root, setup } from './harness.mjs';
import { CSP } from '../../www/serve.mjs';

const { payloads: PAYLOADS } = JSON.parse(readFileSync(path.join(root, 'tests/hostile/xss-payloads.json'), 'utf8'));
const engineConfig = JSON.parse(readFileSync(path.join(root, 'www/demo/config.json'), 'utf8'));
const siteConfig = JSON.parse(readFileSync(path.join(root, 'www/demo/edgewise.json'), 'utf8'));
const NEVER = 'events < 0';
// The report-only CSP's console line about the test's own inline <style> fixture names its hash.
const FIXTURE_HASH = `sha256-${createHash('sha256').update('p{}').digest('base64')}`;

let env;
before(async () => {
  env = await setup();
});
after(async () => {
  await env?.close();
});

const attr = (s) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Serves the storefront without its CSP (a report-only copy instead) and, when `extra` is given,
 * with that markup appended to <main>.
 */
async function withoutCsp(page, extra = '') {
  await page.route(/\/(\?.*)?$/, async (r) => {
    const resp = await r.fetch();
    const headers = { ...resp.headers(), 'content-security-policy-report-only': CSP };
    delete headers['content-security-policy'];
    const body = (await resp.text()).replace('<main class="main" id="main">', `<main class="main" id="main">${extra}`);
    await r.fulfill({ status: resp.status(), headers, body });
  });
}

/** The canary and the detectors, installed before any script of the page runs. */
async function detectors(page) {
  await page.addInitScript(() => {
    window.__pwned = [];
    for (const f of ['alert', 'confirm', 'prompt', 'print']) window[f] = (...a) => window.__pwned.push([f, ...a].join(' '));
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      // The test's own inline <style> fixture (data-ew-fixture) is not a payload.
      if (!(e.target && e.target.hasAttribute && e.target.hasAttribute('data-ew-fixture'))) window.__violations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`);
    });
    window.__flagged = [];
    // Elements that run or load something by themselves (the demo's panel makes <details> and
    // <input> elements of its own: those only matter with a handler, which the on* check sees).
    const DANGEROUS = new Set(['SCRIPT', 'IFRAME', 'OBJECT', 'EMBED', 'BASE', 'META', 'FRAME', 'STYLE', 'LINK', 'MARQUEE', 'VIDEO', 'AUDIO', 'SOURCE', 'MATH', 'MACTION', 'NOSCRIPT']);
    const URLISH = /^(href|src|action|formaction|data|xlink:href|srcdoc|style)$/i;
    const BAD_URL = /javascript:|evil\.example|^data:text|expression\(/i;
    const check = (el) => {
      if (el.nodeType !== 1) return;
      if (DANGEROUS.has(el.tagName.toUpperCase()) && window.__own && !window.__own.has(el)) window.__flagged.push(`element <${el.tagName}>`);
      if (el.tagName === 'IMG' && /^(x|1)$/.test(el.getAttribute('src') || '')) window.__flagged.push('img src=x');
      for (const a of el.attributes) {
        if (/^on/i.test(a.name)) window.__flagged.push(`attribute ${a.name} on <${el.tagName}>`);
        if (URLISH.test(a.name) && BAD_URL.test(a.value)) window.__flagged.push(`attribute ${a.name}=${a.value} on <${el.tagName}>`);
      }
      for (const c of el.children) check(c);
    };
    new MutationObserver((records) => {
      for (const r of records) {
        if (r.type === 'attributes') check(r.target);
        for (const n of r.addedNodes) check(n);
      }
    }).observe(document, { subtree: true, childList: true, attributes: true });
    // Elements of the page itself (parsed before the include decided anything) are not flagged.
    document.addEventListener('DOMContentLoaded', () => (window.__own = new WeakSet(document.querySelectorAll('*'))));
  });
}

/** What the detectors saw, plus the dialogs and requests of the harness's log. */
async function nothingRan(page, log, what, allowed = /$^/) {
  await page.waitForTimeout(300); // an <img src=x> would have errored by now
  const seen = await page.evaluate(() => ({ pwned: window.__pwned, flagged: window.__flagged, violations: window.__violations }));
  seen.violations = seen.violations.filter((v) => !allowed.test(v));
  assert.deepEqual(seen.pwned, [], `${what}: no payload ran`);
  assert.deepEqual(seen.flagged, [], `${what}: no element or attribute was created from a payload`);
  assert.deepEqual(seen.violations, [], `${what}: no CSP (report-only) violation`);
  assert.deepEqual(log.dialogs, [], `${what}: no dialog`);
  assert.deepEqual(log.errors, [], `${what}: no uncaught exception`);
  const evil = log.requests.filter((r) => /evil\.example|\/x$|\/1$|^javascript:|^data:/.test(r.url));
  assert.deepEqual(evil, [], `${what}: no request a payload would make`);
  const csp = log.console.filter((m) => /Refused to|Content Security Policy/.test(m.text) && !allowed.test(m.text) && !m.text.includes(FIXTURE_HASH));
  assert.deepEqual(csp, [], `${what}: no CSP message`);
}

/** The storefront's own script still works: the cart counts. */
async function cartWorks(page) {
  const before = await page.textContent('#cart-count');
  await page.click('#products [data-action="add"]');
  await page.waitForFunction((b) => document.querySelector('#cart-count').textContent !== b, before);
}

test('positive control: the same payloads injected as HTML do run, and the detectors see it', async () => {
  const { context, page, log } = await openPage(env);
  await detectors(page);
  await withoutCsp(page);
  await page.goto(env.url('/'));
  await ready(page);
  const fired = await page.evaluate(async (list) => {
    const box = document.createElement('div');
    document.body.append(box);
    for (const p of list) {
      if (/^(meta-refresh|base-href|body-onload)$/.test(p.id)) continue; // would navigate or rebase the page
      const d = document.createElement('div');
      d.innerHTML = p.payload;
      box.append(d);
    }
    await new Promise((r) => setTimeout(r, 800));
    return { pwned: window.__pwned.length, flagged: window.__flagged.length };
  }, PAYLOADS);
  const total = fired.pwned + log.dialogs.length;
  console.log(`# positive control: ${total} payload executions (canary ${fired.pwned}, dialogs ${log.dialogs.length}), ${fired.flagged} flagged elements/attributes`);
  assert.ok(total >= 8, `the canary sees payloads run when they are injected as HTML: ${total}`);
  assert.ok(fired.flagged >= PAYLOADS.length / 2, `the MutationObserver flags injected markup: ${fired.flagged}`);
  await context.close();
});

const FIELDS = 16; // an offer holds at most 16 text fields; a config at most 64 slots

test('every payload as copy, offer fields, tags, markup slot ids, reward names and event strings: shown as text, nothing runs', async () => {
  const t0 = Date.now();
  const { context, page, log } = await openPage(env);
  await detectors(page);
  // One copy slot per payload, and offer slots of 16 fields; the hostile variant is the only
  // eligible one.
  const cfg = structuredClone(engineConfig);
  cfg.holdout = 0;
  const markup = [];
  PAYLOADS.forEach((p, i) => {
    cfg.slots.push({
      id: `xss-copy-${i}`,
      default: 'safe',
      variants: [
        { id: 'safe', kind: 'copy', content: 'safe', eligibility: NEVER },
        { id: 'p', kind: 'copy', content: p.payload, tags: Buffer.byteLength(p.payload) <= 64 ? [p.payload] : [] },
      ],
    });
    markup.push(`<p data-ew-slot="xss-copy-${i}">copy ${i}</p>`);
    // A slot id in the page's markup that the config does not know (user content, say).
    markup.push(`<span data-ew-slot="${attr(p.payload)}">unknown ${i}</span>`);
  });
  // Slot markers on elements whose content is code: the include leaves them alone.
  markup.push('<style data-ew-fixture data-ew-slot="hero-headline">p{}</style><script type="text/plain" data-ew-slot="hero-headline">x</script>');
  for (let o = 0; o * FIELDS < PAYLOADS.length; o++) {
    const part = PAYLOADS.slice(o * FIELDS, (o + 1) * FIELDS);
    cfg.slots.push({
      id: `xss-offer-${o}`,
      default: 'safe',
      variants: [
        { id: 'safe', kind: 'offer', content: { f0: 'safe' }, eligibility: NEVER },
        { id: 'p', kind: 'offer', content: Object.fromEntries(part.map((p, j) => [`f${j}`, p.payload])) },
      ],
    });
    // Each field a link: its href must stay the page's own.
    markup.push(`<aside data-ew-slot="xss-offer-${o}">${part.map((_, j) => `<a href="/join" data-ew-field="f${j}">f${j}</a>`).join('')}</aside>`);
  }
  // Config values of the site config: allow-list entries, reward event names, prototype keys.
  const site = structuredClone(siteConfig);
  site.layout_classes = [...site.layout_classes, ...PAYLOADS.map((p) => p.payload)];
  site.rewards = { click: 1, events: Object.fromEntries(PAYLOADS.map((p) => [p.payload, 1])) };
  const siteText = JSON.stringify(site).replace(/^\{/, '{"__proto__": {"polluted": "site"}, "constructor": {"prototype": {"polluted": "ctor"}}, ');
  await page.route('**/edgewise/config.json', (r) => r.fulfill({ contentType: 'application/json', body: siteText }));
  await page.route('**/edgewise/engine/config.json', (r) => r.fulfill({ json: cfg }));
  await withoutCsp(page, markup.join('\n'));
  await page.goto(env.url('/?ew_debug=1'));
  assert.equal((await ready(page)).ok, true);
  await page.$eval('#consent-accept', (b) => b.click()); // the debug overlay covers the banner
  await page.waitForFunction(() => window.edgewise.decisions()['xss-copy-0']?.variant_id === 'p');

  const shown = await page.evaluate(
    ({ n, FIELDS }) =>
      Array.from({ length: n }, (_, i) => {
        const copy = document.querySelector(`[data-ew-slot="xss-copy-${i}"]`);
        const offer = document.querySelector(`[data-ew-slot="xss-offer-${Math.floor(i / FIELDS)}"]`);
        const field = offer.querySelector(`[data-ew-field="f${i % FIELDS}"]`);
        return {
          copy: copy.textContent,
          copyElements: copy.children.length,
          variant: copy.getAttribute('data-ew-variant'),
          offerVariant: offer.getAttribute('data-ew-variant'),
          field: field.textContent,
          fieldElements: field.children.length,
          href: field.getAttribute('href'),
          attributes: field.getAttributeNames().join(' '),
        };
      }),
    { n: PAYLOADS.length, FIELDS },
  );
  PAYLOADS.forEach((p, i) => {
    const s = shown[i];
    assert.equal(s.variant, 'p', `${p.id}: the hostile copy variant was applied`);
    assert.equal(s.copy, p.payload, `${p.id}: copy shown as text`);
    assert.equal(s.copyElements, 0, `${p.id}: no element in the copy slot`);
    assert.equal(s.offerVariant, 'p', `${p.id}: the hostile offer variant was applied`);
    assert.equal(s.field, p.payload, `${p.id}: offer field shown as text`);
    assert.equal(s.fieldElements, 0, `${p.id}: no element in the offer field`);
    assert.equal(s.href, '/join', `${p.id}: the link's href is the page's own`);
    assert.equal(s.attributes, 'href data-ew-field', `${p.id}: no attribute added to the field`);
  });

  assert.deepEqual(
    await page.$$eval('style[data-ew-slot], script[data-ew-slot]', (els) => els.map((e) => [e.textContent, e.getAttribute('data-ew-variant')])),
    [['p{}', null], ['x', null]],
    'no variant text in a <style> or <script>',
  );
  // Event strings through edgewise.track, then what the page and the panel do with them.
  const tracked = await page.evaluate((list) => {
    const ew = window.edgewise;
    const out = [];
    for (const { payload } of list) {
      out.push([
        ew.track({ kind: 'product_view', category: payload, item_id: payload, price: 10 }),
        ew.track({ kind: 'search', query: payload }),
        ew.track({ kind: 'custom', name: payload, value: 1 }),
        ew.track({ kind: payload }),
      ]);
    }
    ew.refresh();
    ew.flush();
    const i = ew.inspect();
    return { out, events: i.state.total_events, sync: i.sync.ok, debugRows: document.querySelectorAll('[data-ew-debug-slot]').length };
  }, PAYLOADS);
  // Most strings are taken (stored hashed or interned, never shown); a payload as a kind is refused.
  for (const [i, [view, search, custom, kind]] of tracked.out.entries()) {
    assert.equal(kind, false, `${PAYLOADS[i].id} as an event kind is refused`);
    assert.equal(typeof view && typeof search && typeof custom, 'boolean');
  }
  assert.ok(tracked.events > PAYLOADS.length, `events were taken: ${tracked.events}`);
  assert.ok(tracked.debugRows >= PAYLOADS.length, `the debug overlay lists the hostile slots: ${tracked.debugRows}`);
  await page.waitForTimeout(500); // the demo panel re-renders the events list
  await nothingRan(page, log, 'content, config and events');
  const ours = log.console.filter((m) => m.type === 'error' && m.text.startsWith('edgewise:'));
  // One line per kind of refusal (unknown kind, too many names, …), not one per payload.
  const trackLines = ours.filter((m) => /^edgewise: track failed/.test(m.text));
  assert.ok(trackLines.length >= 1 && trackLines.length <= 4, `console lines for ${PAYLOADS.length * 4} hostile events: ${trackLines.map((m) => m.text.slice(0, 100))}`);
  assert.equal(await page.evaluate(() => ({}).polluted ?? Object.prototype.polluted ?? null), null, 'no prototype pollution');
  await cartWorks(page);
  console.log(`# copy/offer/config/events: ${PAYLOADS.length} payloads, ${cfg.slots.length - 3} hostile slots, ${tracked.events} events, ${ours.length} console lines, ${Date.now() - t0} ms`);
  await context.close();
});

test('every payload as a layout, slot id, variant id, default, storage prefix or rule is refused by the engine; a tag is kept as data', async () => {
  const { context, page, log } = await openPage(env);
  await detectors(page);
  await withoutCsp(page);
  await page.goto(env.url('/'));
  await ready(page);
  const results = await page.evaluate(
    ({ list, base, NEVER }) => {
      const { Engine } = window.edgewise.module;
      const models = []; // layout/ids/prefix are checked before anything needs a model
      const lean = { ...base, slots: base.slots.map((s) => ({ ...s, variants: s.variants.map((v) => ({ ...v, eligibility: undefined })) })) };
      const attempt = (mutate) => {
        const c = structuredClone(lean);
        mutate(c);
        try {
          Engine.create(c, models).free();
          return 'accepted';
        } catch (e) {
          return e.code || `no code: ${e}`;
        }
      };
      return list.map(({ id, payload }) => ({
        id,
        layout: attempt((c) => c.slots[1].variants.push({ id: 'x', kind: 'layout', content: payload })),
        slot: attempt((c) => (c.slots[0].id = payload)),
        variant: attempt((c) => c.slots[0].variants.push({ id: payload, kind: 'copy', content: 'x' })),
        def: attempt((c) => (c.slots[0].default = payload)),
        prefix: attempt((c) => (c.storage_prefix = payload)),
        rule: attempt((c) => (c.slots[0].variants[1].eligibility = payload)),
        tag: attempt((c) => (c.slots[0].variants[1].tags = [payload])),
        never: NEVER,
      }));
    },
    { list: PAYLOADS, base: engineConfig, NEVER },
  );
  for (const r of results) {
    // `__proto__` and `constructor` are well-formed ids and class names: taken as plain strings.
    const wellFormed = /^[A-Za-z0-9_-]+$/.test(PAYLOADS.find((p) => p.id === r.id).payload);
    for (const k of ['layout', 'slot', 'variant', 'def', 'prefix']) {
      if (wellFormed) assert.match(r[k], /^(accepted|config_invalid)$/, `${r.id} as ${k}: ${r[k]}`);
      else assert.equal(r[k], 'config_invalid', `${r.id} as ${k}`);
    }
    assert.match(r.rule, /^config_rule_invalid$/, `${r.id} as a rule: ${r.rule}`);
    const bytes = Buffer.byteLength(PAYLOADS.find((p) => p.id === r.id).payload);
    assert.equal(r.tag, bytes <= 64 ? 'accepted' : 'config_invalid', `${r.id} as a tag (${bytes} B; tags are 1..=64 bytes)`);
  }
  // One full page whose engine config carries a hostile layout: defaults, one console line.
  const cfg = structuredClone(engineConfig);
  cfg.slots[1].variants.push({ id: 'x', kind: 'layout', content: PAYLOADS.find((p) => p.id === 'attr-breakout-handler').payload });
  const { page: p2, log: log2 } = await openPage(env);
  await detectors(p2);
  await withoutCsp(p2);
  await p2.route('**/edgewise/engine/config.json', (r) => r.fulfill({ json: cfg }));
  await p2.goto(env.url('/'));
  assert.equal((await ready(p2)).ok, false);
  await p2.click('#consent-accept');
  await p2.hover('[data-ew-slot="layout"]');
  await nothingRan(p2, log2, 'hostile layout config');
  assert.equal(log2.console.filter((m) => m.type === 'error' && m.text.startsWith('edgewise:')).length, 1);
  await cartWorks(p2);
  await nothingRan(page, log, 'engine config checks');
  await context.close();
  await p2.context().close();
});

test('a sync or measurement URL that is a javascript: payload: flush() does not throw and nothing runs', async () => {
  const { context, page, log } = await openPage(env);
  await detectors(page);
  await withoutCsp(page);
  const site = { ...siteConfig, sync: { url: 'javascript:alert(1)' }, measurement: { url: 'javascript:alert(2)//' } };
  await page.route('**/edgewise/config.json', (r) => r.fulfill({ json: site }));
  await page.goto(env.url('/'));
  await ready(page);
  await page.click('#consent-accept');
  const r = await page.evaluate(() => {
    try {
      window.edgewise.flush();
      return 'ok';
    } catch (e) {
      return `threw: ${e}`;
    }
  });
  assert.equal(r, 'ok', 'flush() must not throw into the page');
  // The beacon falls back to fetch(), which refuses the scheme (the report-only CSP notes the
  // attempt as connect-src): nothing is evaluated.
  await nothingRan(page, log, "javascript: sync URL", /connect-src javascript|Refused to connect to .javascript:|^Connecting to 'javascript:/);
  await context.close();
});

test('oversized input: 1 MB strings, 10^6-event bursts and deeply nested JSON are refused or bounded, in bounded time', async () => {
  const { context, page, log } = await openPage(env);
  // The site config may carry anything beside its own keys: here 10^5 levels of nesting.
  const deepSite = JSON.stringify(siteConfig).replace(/^\{/, `{"x": ${'['.repeat(1e5)}${']'.repeat(1e5)}, `);
  await page.route('**/edgewise/config.json', (r) => r.fulfill({ contentType: 'application/json', body: deepSite }));
  await page.goto(env.url('/?ew_seed=3'));
  await ready(page);
  await page.click('#consent-accept');
  const m = await page.evaluate(async () => {
    const ew = window.edgewise;
    const mem = () => ew.module.initSync().memory.buffer.byteLength;
    const heap = () => (performance.memory ? performance.memory.usedJSHeapSize : null);
    const out = { wasm0: mem(), heap0: heap() };
    const time = (name, fn) => {
      const t = performance.now();
      let r;
      try {
        r = fn();
      } catch (e) {
        r = `threw ${e && (e.code || e.name)}`;
      }
      out[name] = { ms: Math.round(performance.now() - t), r, wasm: mem() };
    };
    const MB = 'x'.repeat(1 << 20);
    time('query1MB', () => ew.track({ kind: 'search', query: MB }));
    time('category1MB', () => ew.track({ kind: 'product_view', category: MB }));
    time('kind1MB', () => ew.track({ kind: MB }));
    let deep = {};
    for (let i = 0, c = deep; i < 100000; i++) c = c.a = {};
    time('deepEvent', () => ew.track({ kind: 'custom', name: 'deep', value: deep }));
    time('deepExtra', () => ew.track({ kind: 'page_view', extra: deep }));
    const N = 1e6;
    time('track1e5', () => {
      let ok = 0;
      for (let i = 0; i < 1e5; i++) if (ew.track({ kind: 'scroll', value: 0.5 })) ok++;
      return ok;
    });
    out.wasmAfterTrack = mem();
    time('columnar1e6', () => {
      const r = ew.engine.trackMany({ kind: new Uint8Array(N).fill(8), ts: new Float64Array(N).fill(NaN), value: new Float64Array(N).fill(0.5) });
      return { accepted: r.accepted, rejected: r.rejected_count, listed: r.rejected.length };
    });
    time('columnarBad1e6', () => {
      const r = ew.engine.trackMany({ kind: new Uint8Array(N).fill(200), ts: new Float64Array(N).fill(NaN) });
      return { accepted: r.accepted, rejected: r.rejected_count, listed: r.rejected.length };
    });
    time('columnarMismatch', () => ew.engine.trackMany({ kind: new Uint8Array(N).fill(8), ts: new Float64Array(3) }));
    out.wasmAfterColumnar = mem();
    const objs = Array.from({ length: N }, (_, i) => ({ kind: 'product_view', category: 'shoes', item_id: `sku-${i}` }));
    time('objects1e6', () => ew.engine.trackMany(objs));
    time('objects64k', () => {
      const r = ew.engine.trackMany(objs.slice(0, 65_536));
      return { accepted: r.accepted, rejected: r.rejected_count, listed: r.rejected.length };
    });
    out.heapPeak = heap();
    const state = ew.inspect().state;
    out.sessionEvents = state.events;
    out.totalEvents = state.total_events;
    time('snapshot', () => ew.engine.snapshot().length);
    time('decideAfter', () => ew.engine.decide('hero-headline').source);
    out.heap1 = heap();
    out.recentEvents = ew.inspect().events.length;
    return out;
  });
  console.log(`# oversized (Chromium): ${JSON.stringify(m)}`);
  objectsBurstGrowth = m.objects64k.wasm - m.wasmAfterColumnar;
  // 1 MB strings: refused, quickly, without growing the module's memory by more than the copy.
  for (const k of ['query1MB', 'category1MB', 'kind1MB']) {
    assert.equal(m[k].r, false, `${k} refused`);
    assert.ok(m[k].ms < 2000, `${k} in ${m[k].ms} ms`);
  }
  for (const k of ['deepEvent', 'deepExtra']) {
    assert.equal(m[k].r, false, `${k} refused`);
    assert.ok(m[k].ms < 5000, `${k} in ${m[k].ms} ms`);
  }
  // 10^5 single events through the include: bounded by the session ring and the include's own lists.
  assert.equal(m.track1e5.r, 1e5);
  assert.ok(m.track1e5.ms < 30_000, `10^5 track() in ${m.track1e5.ms} ms`);
  assert.ok(m.wasmAfterTrack - m.wasm0 < 16 << 20, `10^5 track(): module memory ${m.wasm0} → ${m.wasmAfterTrack} B`);
  assert.equal(m.recentEvents, 100);
  assert.ok(m.sessionEvents <= 512, `the session keeps its capacity: ${m.sessionEvents}`);
  // 10^6 in one columnar batch: every event accounted for, the rejected list capped at 100.
  assert.deepEqual(m.columnar1e6.r, { accepted: 1e6, rejected: 0, listed: 0 });
  assert.deepEqual(m.columnarBad1e6.r, { accepted: 0, rejected: 1e6, listed: 100 });
  assert.equal(m.columnarMismatch.r, 'threw invalid_argument');
  assert.ok(m.columnar1e6.ms < 30_000 && m.objects1e6.ms < 60_000 && m.objects64k.ms < 30_000, 'bursts in bounded time');
  // Objects: at most 65,536 per call (their JSON text is copied into memory that never shrinks).
  assert.equal(m.objects1e6.r, 'threw invalid_argument');
  assert.deepEqual(m.objects64k.r, { accepted: 65_536, rejected: 0, listed: 0 });
  assert.equal(m.decideAfter.r !== undefined && typeof m.decideAfter.r, 'string');
  assert.ok(m.snapshot.r < 256 * 1024, `the snapshot stays bounded: ${m.snapshot.r} B`);
  // One console line per kind of problem, however many events.
  const ours = log.console.filter((x) => x.type === 'error' && x.text.startsWith('edgewise:'));
  assert.ok(ours.length <= 3, `console lines: ${ours.map((x) => x.text.slice(0, 120)).join(' | ')}`);
  assert.deepEqual(log.errors, []);
  await cartWorks(page);
  await context.close();
});

let objectsBurstGrowth = null; // set by the oversized test

test(
  'a 10^6-object trackMany burst is refused, and the largest accepted one grows the module memory by at most 64 MB',
  () => {
    assert.notEqual(objectsBurstGrowth, null, 'measured by the oversized-input test');
    assert.ok(objectsBurstGrowth <= 64 << 20, `module memory grew by ${objectsBurstGrowth} B`);
  },
);

test('deeply nested JSON as the engine config: refused with one console line, defaults, the page works', async () => {
  const { context, page, log } = await openPage(env);
  const depth = 100000;
  // Nested under an unknown key: the engine refuses the key before it would descend.
  const deep = `{"x": ${'['.repeat(depth)}${']'.repeat(depth)}, "version": 1, "slots": []}`;
  await page.route('**/edgewise/engine/config.json', (r) => r.fulfill({ contentType: 'application/json', body: deep }));
  const t = Date.now();
  await page.goto(env.url('/'));
  assert.equal((await ready(page)).ok, false);
  const ms = Date.now() - t;
  const ours = log.console.filter((m) => m.type === 'error' && m.text.startsWith('edgewise:'));
  assert.equal(ours.length, 1, JSON.stringify(ours));
  console.log(`# deep config (${depth} levels): refused in ${ms} ms: ${ours[0].text.slice(0, 160)}`);
  const variants = await page.$$eval('[data-ew-slot]', (els) => els.map((e) => [e.getAttribute('data-ew-variant'), getComputedStyle(e).visibility]));
  assert.ok(variants.every(([v, vis]) => v === null && vis === 'visible'), JSON.stringify(variants));
  assert.deepEqual(log.errors, []);
  await cartWorks(page);
  await context.close();
});

test('Subresource Integrity: the hash build-www emits lets the include run; a tampered include is refused, the page works', async () => {
  const sri = JSON.parse(readFileSync(path.join(root, 'pkg/www/sri.json'), 'utf8'));
  const js = readFileSync(path.join(root, 'pkg/www/edgewise.js'));
  assert.equal(sri['edgewise.js'], `sha384-${createHash('sha384').update(js).digest('base64')}`, 'pkg/www/sri.json matches the built file');
  const pinned = (page) =>
    page.route(/\/(\?.*)?$/, async (r) => {
      const resp = await r.fetch();
      const body = (await resp.text()).replace('<script src="/edgewise/edgewise.js"', `<script integrity="${sri['edgewise.js']}" crossorigin="anonymous" src="/edgewise/edgewise.js"`);
      assert.ok(body.includes(sri['edgewise.js']));
      await r.fulfill({ response: resp, body });
    });
  const genuine = await openPage(env);
  await pinned(genuine.page);
  await genuine.page.goto(env.url('/'));
  assert.equal((await ready(genuine.page)).ok, true, 'the genuine include runs with its integrity attribute');
  await genuine.context.close();

  // A compromised CDN serves a modified include: the browser refuses to run it.
  const { context, page, log } = await openPage(env);
  await pinned(page);
  await page.route('**/edgewise/edgewise.js', (r) => r.fulfill({ contentType: 'text/javascript', body: `${js};window.__cdn=1;` }));
  await page.goto(env.url('/'));
  await page.waitForLoadState('load');
  await page.waitForTimeout(300);
  const state = await page.evaluate(() => ({
    cdn: window.__cdn ?? null,
    queue: Array.isArray(window.edgewise),
    visible: [...document.querySelectorAll('[data-ew-slot]')].every((e) => getComputedStyle(e).visibility === 'visible' && !e.hasAttribute('data-ew-state')),
  }));
  assert.deepEqual(state, { cdn: null, queue: true, visible: true }, 'the tampered script did not run; the defaults show');
  assert.ok(log.console.some((m) => /integrity/i.test(m.text)), 'the browser says why');
  await cartWorks(page);
  assert.deepEqual(log.errors, []);
  await context.close();
});
