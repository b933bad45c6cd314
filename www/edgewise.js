// edgewise.js — the script include. One tag on a site:
//
//   <script src="/edgewise/edgewise.js" data-config="/edgewise/config.json" async></script>
//
// and elements marked `data-ew-slot="<slot id>"`. This file is the ES module source; `make wasm`
// (scripts/build-www.mjs, esbuild) bundles it with the wasm-bindgen glue into pkg/www/:
// edgewise.js (classic script, sets `window.edgewise`) and edgewise.mjs (ES module).
//
// What it does (DESIGN.md, "Rules that hold everywhere"):
// - hides marked elements only until their decision is applied or `anti_flicker_ms` passes;
//   on any failure the default content shows at once and the error goes to the console once;
// - loads config, models and the wasm module (streaming compile);
// - reads consent from `__tcfapi`, `navigator.globalPrivacyControl`, Consent Mode (dataLayer)
//   and `edgewise.setConsent()`, at any time; restores state from storage only when the engine
//   says the consent allows it (`snapshotScope`), and deletes what withdrawal names;
// - captures page views, clicks on marked elements, scroll depth, dwell and History API
//   navigations; `edgewise.track(event)` for the rest;
// - applies decisions as text only: copy with textContent, layouts as allow-listed classes,
//   offers into `data-ew-field` children — never innerHTML from variant content;
// - counts a decision as exposed when its element is visible (IntersectionObserver), rewards
//   clicks and named events, and sends sync payloads with sendBeacon only when the gate in
//   Rust released one.
import init, * as wasm from '../pkg/web/edgewise.js';

const VERSION = '0.1.0';
const DEFAULT_ANTI_FLICKER_MS = 300;
const CLASS_RE = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
const SLOT_ATTR = 'data-ew-slot';

const listeners = new Map();
const reported = new Set();
const queue = [];
let engine = null;
let settings = null;
let started = null;
let failed = null;
let revealTimer = 0;
let engineConfig = null;
let models = null;
const decisions = new Map(); // slot id -> decision (the one applied on this page)
const elementsBySlot = new Map(); // slot id -> Set<Element>
const originals = new WeakMap(); // element -> {text, classes, fields} before we touched it
const exposed = new Set(); // decision ids reported visible
const rewarded = new Set(); // decision ids rewarded
const recentEvents = [];
// Every consent call in order, replayed into an engine restored from storage (a snapshot
// never carries consent: today's sources speak again).
const consentLog = [];
let observer = null;
let restored = false;
let lastPath = '';
let pageShownAt = 0;
let maxScroll = 0;

// ---------------------------------------------------------------- small helpers

function emit(name, detail) {
  const set = listeners.get(name);
  if (!set) return;
  for (const fn of [...set]) {
    try {
      fn(detail);
    } catch (e) {
      reportOnce(`listener:${name}`, `a '${name}' listener threw: ${e && e.message}`);
    }
  }
}

/** One console line per distinct problem; every problem also reaches on('error'). */
function reportOnce(key, message, error) {
  if (!reported.has(key)) {
    reported.add(key);
    console.error(`edgewise: ${message}`);
  }
  emit('error', { message, code: (error && error.code) || key.split(':')[0], error });
}

function storages() {
  const out = [];
  for (const name of ['localStorage', 'sessionStorage']) {
    try {
      const s = window[name];
      if (s) out.push([name, s]);
    } catch {
      // Storage access throws when the browser blocks it: act as if there were none.
    }
  }
  return out;
}

function storage(name) {
  for (const [n, s] of storages()) if (n === name) return s;
  return null;
}

function b64encode(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function b64decode(text) {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function stateKey() {
  const prefix = (engineConfig && typeof engineConfig.storage_prefix === 'string' && engineConfig.storage_prefix) || 'edgewise';
  return `${prefix}:state`;
}

function call(what, fn) {
  try {
    return fn();
  } catch (e) {
    reportOnce(`${(e && e.code) || 'error'}:${what}`, `${what} failed: ${(e && e.message) || e}`, e);
    return undefined;
  }
}

// ---------------------------------------------------------------- anti-flicker

function markPending(root = document) {
  for (const el of root.querySelectorAll(`[${SLOT_ATTR}]`)) {
    if (el.hasAttribute('data-ew-state')) continue;
    if (el.hasAttribute('data-ew-decision')) {
      // Decided at the edge (www/edge) before the HTML arrived: leave it as it is.
      el.setAttribute('data-ew-state', 'edge');
      continue;
    }
    el.setAttribute('data-ew-state', 'pending');
    // CSSOM, not a style attribute: allowed under a CSP without 'unsafe-inline' styles.
    el.__ewVisibility = el.style.visibility;
    el.style.visibility = 'hidden';
  }
}

function reveal(el, state) {
  if (el.getAttribute('data-ew-state') === 'pending') {
    el.style.visibility = el.__ewVisibility || '';
  }
  el.setAttribute('data-ew-state', state);
}

function revealAll(state) {
  for (const el of document.querySelectorAll(`[${SLOT_ATTR}][data-ew-state="pending"]`)) reveal(el, state);
}

// ---------------------------------------------------------------- applying decisions

function remember(el) {
  if (originals.has(el)) return originals.get(el);
  const fields = new Map();
  for (const f of el.querySelectorAll('[data-ew-field]')) fields.set(f, f.textContent);
  const o = { text: el.textContent, classes: [...el.classList], fields };
  originals.set(el, o);
  return o;
}

function layoutAllowList(el) {
  const own = (el.getAttribute('data-ew-layouts') || '').split(/\s+/).filter(Boolean);
  const cfg = (settings && Array.isArray(settings.layout_classes) && settings.layout_classes) || [];
  return new Set([...own, ...cfg].filter((c) => CLASS_RE.test(c)));
}

/** Puts a decision into one element, as text only. Returns false when it could not. */
function applyTo(el, d, isDefault) {
  const o = remember(el);
  if (isDefault) {
    restoreOriginal(el, o);
    return true;
  }
  if (d.kind === 'copy') {
    if (typeof d.content !== 'string') return false;
    el.textContent = d.content;
    return true;
  }
  if (d.kind === 'layout') {
    const cls = typeof d.content === 'string' ? d.content : d.content && d.content.class;
    const allowed = layoutAllowList(el);
    if (typeof cls !== 'string' || !allowed.has(cls)) {
      reportOnce(`layout_not_allowed:${d.slot}:${cls}`, `slot "${d.slot}": layout class ${JSON.stringify(cls)} is not in the allow-list (data-ew-layouts or layout_classes); showing the default`);
      return false;
    }
    for (const c of allowed) el.classList.remove(c);
    el.classList.add(cls);
    return true;
  }
  if (d.kind === 'offer') {
    if (!d.content || typeof d.content !== 'object' || Array.isArray(d.content)) return false;
    let filled = 0;
    for (const f of el.querySelectorAll('[data-ew-field]')) {
      const v = d.content[f.getAttribute('data-ew-field')];
      if (typeof v === 'string' || typeof v === 'number') {
        f.textContent = String(v);
        filled++;
      }
    }
    if (filled === 0) {
      // No template fields: the offer's text in one line.
      const parts = Object.values(d.content).filter((v) => typeof v === 'string');
      if (parts.length === 0) return false;
      el.textContent = parts.join(' — ');
    }
    return true;
  }
  return false;
}

function restoreOriginal(el, o) {
  if (o.fields.size > 0) {
    for (const [f, text] of o.fields) f.textContent = text;
  } else if (el.textContent !== o.text && el.children.length === 0) {
    el.textContent = o.text;
  }
  const allowed = layoutAllowList(el);
  for (const c of allowed) if (!o.classes.includes(c)) el.classList.remove(c);
  for (const c of o.classes) el.classList.add(c);
}

function defaultVariant(slot) {
  const s = engineConfig && Array.isArray(engineConfig.slots) ? engineConfig.slots.find((x) => x && x.id === slot) : null;
  return s ? s.default : undefined;
}

function decideSlot(slot) {
  const d = call(`decide("${slot}")`, () => engine.decide(slot));
  if (!d) {
    // The engine could not decide: this slot shows its default now.
    for (const el of elementsBySlot.get(slot) || []) {
      restoreOriginal(el, remember(el));
      reveal(el, 'default');
    }
    return null;
  }
  decisions.set(slot, d);
  const els = elementsBySlot.get(slot) || new Set();
  const isDefault = d.variant_id === defaultVariant(slot);
  for (const el of els) {
    const ok = applyTo(el, d, isDefault);
    el.setAttribute('data-ew-variant', ok ? d.variant_id : String(defaultVariant(slot)));
    el.setAttribute('data-ew-decision', d.decision_id);
    el.setAttribute('data-ew-source', ok ? d.source : 'error');
    if (!ok) restoreOriginal(el, remember(el));
    reveal(el, 'applied');
    if (observer) observer.observe(el);
  }
  if (!observer) expose(d); // no IntersectionObserver: count it as shown
  emit('decision', d);
  debugRender();
  return d;
}

function scanSlots(root = document) {
  const fresh = new Set();
  for (const el of root.querySelectorAll(`[${SLOT_ATTR}]`)) {
    const slot = el.getAttribute(SLOT_ATTR);
    if (!slot || el.getAttribute('data-ew-state') === 'edge') continue;
    let set = elementsBySlot.get(slot);
    if (!set) elementsBySlot.set(slot, (set = new Set()));
    if (!set.has(el)) {
      set.add(el);
      fresh.add(slot);
    }
  }
  // Forget elements a SPA removed.
  for (const [slot, set] of elementsBySlot) for (const el of set) if (!el.isConnected) set.delete(el);
  return fresh;
}

function decideAll(slots) {
  if (!engine) {
    revealAll('default');
    return;
  }
  for (const slot of slots) {
    if (!engineConfig.slots.some((s) => s && s.id === slot)) {
      reportOnce(`unknown_slot:${slot}`, `data-ew-slot="${slot}" is not a slot of the config; its default content stays`);
      for (const el of elementsBySlot.get(slot) || []) reveal(el, 'default');
      continue;
    }
    decideSlot(slot);
  }
  persist();
}

// ---------------------------------------------------------------- exposures and rewards

function expose(d) {
  if (!d || exposed.has(d.decision_id)) return;
  exposed.add(d.decision_id);
  call('expose', () => engine.expose(d.decision_id));
  emit('exposure', d);
  schedulePersist();
}

function onVisible(entries) {
  for (const entry of entries) {
    if (!entry.isIntersecting) continue;
    const id = entry.target.getAttribute('data-ew-decision');
    for (const d of decisions.values()) if (d.decision_id === id) expose(d);
    observer.unobserve(entry.target);
  }
}

function rewardDecision(d, value, why) {
  if (!d || rewarded.has(d.decision_id) || !engine) return false;
  if (!(d.source === 'explore' || d.source === 'exploit' || d.source === 'rule')) return false;
  rewarded.add(d.decision_id);
  const ok = call('reward', () => {
    engine.reward(d.decision_id, value);
    return true;
  });
  if (ok) {
    emit('reward', { decision: d, value, why });
    schedulePersist();
  }
  return !!ok;
}

function rewardEvent(kind) {
  const map = (settings && settings.rewards && settings.rewards.events) || {};
  const value = map[kind];
  if (typeof value !== 'number') return;
  for (const d of decisions.values()) if (exposed.has(d.decision_id)) rewardDecision(d, value, kind);
}

// ---------------------------------------------------------------- events

function track(event) {
  if (!event || typeof event !== 'object') {
    reportOnce('event_malformed:track', 'track() takes an object like {kind: "purchase"}');
    return false;
  }
  if (!engine) {
    // Before the engine exists (or when it never will): keep the first 100 for when it starts.
    if (queue.length < 100 && !failed) queue.push(['track', event]);
    return !failed;
  }
  const e = { ...event };
  const ok = call(`track(${e.kind})`, () => {
    engine.track(e);
    return true;
  });
  if (!ok) return false;
  recentEvents.push({ ...e, ts: e.ts || Date.now() });
  if (recentEvents.length > 100) recentEvents.shift();
  emit('event', e);
  rewardEvent(e.kind);
  schedulePersist();
  return true;
}

function pageView() {
  const path = location.pathname + location.search;
  if (path === lastPath) return false;
  lastPath = path;
  pageShownAt = performance.now();
  maxScroll = 0;
  track({ kind: 'page_view' });
  return true;
}

function onClick(ev) {
  const el = ev.target && ev.target.closest ? ev.target.closest(`[${SLOT_ATTR}]`) : null;
  if (!el) return;
  track({ kind: 'click' });
  const slot = el.getAttribute(SLOT_ATTR);
  const d = decisions.get(slot);
  const value = settings && settings.rewards && settings.rewards.click;
  if (d && typeof value === 'number') {
    expose(d); // a click implies it was seen
    rewardDecision(d, value, 'click');
  }
}

let scrollTimer = 0;
function onScroll() {
  if (scrollTimer) return;
  scrollTimer = setTimeout(() => {
    scrollTimer = 0;
    const doc = document.documentElement;
    const range = Math.max(1, doc.scrollHeight - window.innerHeight);
    const depth = Math.min(1, Math.max(0, window.scrollY / range));
    // Report in quarters, so a long page yields at most four scroll events.
    const q = Math.floor(depth * 4) / 4;
    if (q > maxScroll) {
      maxScroll = q;
      track({ kind: 'scroll', value: q });
    }
  }, 200);
}

function dwell() {
  if (!pageShownAt) return;
  const s = (performance.now() - pageShownAt) / 1000;
  pageShownAt = 0;
  if (s >= 1) track({ kind: 'dwell', value: Math.round(s * 10) / 10 });
}

function onNavigate() {
  if (!engine) return;
  dwell();
  if (!pageView()) return;
  // New route: decide the slots the new view brought (elements already decided keep theirs).
  setTimeout(() => {
    markPending();
    decideAll(scanSlots());
  }, 0);
}

function hookHistory() {
  for (const m of ['pushState', 'replaceState']) {
    const orig = history[m];
    if (typeof orig !== 'function') continue;
    history[m] = function (...args) {
      const r = orig.apply(this, args);
      onNavigate();
      return r;
    };
  }
  window.addEventListener('popstate', onNavigate);
}

// ---------------------------------------------------------------- consent

/** Calls a consent method on the engine, logs it for a later restore, applies the change. */
function consent(method, arg, source) {
  consentLog.push([method, arg]);
  if (consentLog.length > 50) consentLog.splice(0, consentLog.length - 50);
  const change = call(method, () => engine[method](arg));
  consentChanged(change, source);
  return change || null;
}

function consentChanged(change, source) {
  if (!change) return;
  for (const key of change.delete_keys || []) for (const [, s] of storages()) s.removeItem(key);
  if (change.wiped) {
    exposed.clear();
    rewarded.clear();
  }
  emit('consent', { source, change, receipt: call('consentReceipt', () => engine.consentReceipt()) });
  tryRestore();
  // What the visitor may see changed: decide the slots again under the new purposes.
  const personalized = [...decisions.values()].some((d) => d.source !== 'no_consent' && d.source !== 'holdout');
  const allowed = change.purposes && (change.purposes.personalization || change.session_personalization);
  // decideAll stores the state itself; otherwise (and while starting, before any slot is known)
  // one debounced store serves every consent source that speaks.
  if (elementsBySlot.size > 0 && (!!allowed !== personalized || change.wiped)) decideAll([...elementsBySlot.keys()]);
  else schedulePersist();
}

function setConsent(purposes) {
  if (!engine) {
    if (!failed) queue.push(['setConsent', purposes]);
    return null;
  }
  return consent('setConsent', purposes, 'host');
}

function withdraw() {
  if (!engine) {
    if (!failed) queue.push(['withdraw']);
    // Whatever happens to the engine, nothing of ours stays behind.
    for (const [, s] of storages()) s.removeItem(stateKey());
    return null;
  }
  const change = consent('withdraw', undefined, 'withdraw');
  // Nothing of ours stays behind, whatever the config named.
  for (const [, s] of storages()) s.removeItem(stateKey());
  return change;
}

function readGpc() {
  if (navigator.globalPrivacyControl === true) consent('setGpc', true, 'gpc');
}

function hookTcf() {
  if (typeof window.__tcfapi !== 'function') return;
  try {
    window.__tcfapi('addEventListener', 2, (tcData, success) => {
      if (!success || !tcData || !engine) return;
      if (tcData.gdprApplies === false) {
        consent('clearTcf', undefined, 'tcf');
      } else if (typeof tcData.tcString === 'string' && tcData.tcString && tcData.eventStatus !== 'cmpuishown') {
        consent('setTcf', tcData.tcString, 'tcf');
      }
    });
  } catch (e) {
    reportOnce('tcf:addEventListener', `__tcfapi addEventListener threw: ${e && e.message}`, e);
  }
}

function consentModeEntry(entry) {
  // gtag('consent', 'default' | 'update', {...}) pushes its `arguments` object.
  if (!entry || typeof entry !== 'object' || entry[0] !== 'consent') return;
  const signals = entry[2];
  if (!signals || typeof signals !== 'object') return;
  const clean = {};
  for (const [k, v] of Object.entries(signals)) if (v === 'granted' || v === 'denied') clean[k] = v;
  consent('setConsentMode', clean, 'consent_mode');
}

function hookConsentMode() {
  const dl = window.dataLayer;
  if (!Array.isArray(dl)) return;
  for (const entry of dl) consentModeEntry(entry);
  const push = dl.push;
  dl.push = function (...items) {
    const r = push.apply(this, items);
    for (const entry of items) consentModeEntry(entry);
    return r;
  };
}

// ---------------------------------------------------------------- storage and sync

/** Restores the stored state once, when the engine says the consent allows that scope. */
function tryRestore() {
  if (restored || !engine) return;
  const scope = call('snapshotScope', () => engine.snapshotScope());
  const st = engine.state();
  if (!st.consent.personalization && !st.consent.storage) return;
  const store = storage(scope === 'persistent' ? 'localStorage' : 'sessionStorage');
  const text = store && store.getItem(stateKey());
  restored = true;
  if (!text) return;
  try {
    const prev = engine;
    const next = wasm.Engine.restore(b64decode(text), engineConfig, models, undefined);
    for (const [method, arg] of consentLog) {
      try {
        next[method](arg);
      } catch {
        // Reported when it first failed.
      }
    }
    for (const e of recentEvents) call('replay', () => next.track({ ...e }));
    engine = next;
    prev.free();
    emit('restore', { scope, bytes: text.length, notes: engine.state().restore_notes });
  } catch (e) {
    // Expired, corrupt or from another config: start fresh and drop it.
    store.removeItem(stateKey());
    emit('restore', { scope, error: (e && e.code) || String(e) });
  }
}

let persistTimer = 0;
function schedulePersist() {
  if (persistTimer) return;
  persistTimer = setTimeout(() => {
    persistTimer = 0;
    persist();
  }, 250);
}

/** Stores the snapshot where the gate says it may live; nothing without consent. */
function persist() {
  // Stores now: a store still scheduled would only repeat it.
  clearTimeout(persistTimer);
  persistTimer = 0;
  if (!engine) return;
  const st = call('state', () => engine.state());
  if (!st) return;
  const key = stateKey();
  const local = storage('localStorage');
  const session = storage('sessionStorage');
  if (!st.consent.personalization && !st.consent.storage) {
    if (local) local.removeItem(key);
    if (session) session.removeItem(key);
    return;
  }
  const scope = call('snapshotScope', () => engine.snapshotScope());
  const bytes = call('snapshot', () => engine.snapshot());
  if (!bytes || bytes.length === 0) return;
  const [keep, drop] = scope === 'persistent' ? [local, session] : [session, local];
  try {
    if (keep) keep.setItem(key, b64encode(bytes));
    if (drop) drop.removeItem(key);
  } catch (e) {
    reportOnce('storage_full', `could not store the state (${e && e.name}); learning continues for this page only`, e);
  }
}

/** Sends the sync and measurement payloads the gate released, with sendBeacon. */
function flush() {
  if (!engine) return { sync: null, measurement: null };
  persist();
  const out = {};
  for (const [what, fn] of [
    ['sync', () => engine.syncPayload()],
    ['measurement', () => engine.measurementPayload()],
  ]) {
    const url = settings && settings[what] && settings[what].url;
    const r = call(what, fn);
    out[what] = r || null;
    if (!url || !r || !r.ok) continue;
    const body = new Blob([r.payload], { type: 'application/json' });
    const sent = navigator.sendBeacon ? navigator.sendBeacon(url, body) : false;
    if (!sent) fetch(url, { method: 'POST', body, keepalive: true, credentials: 'same-origin' }).catch(() => {});
    emit('sync', { what, url, bytes: r.payload.length });
  }
  return out;
}

function onHide() {
  if (document.visibilityState === 'hidden') {
    dwell();
    flush();
  } else if (!pageShownAt) {
    pageShownAt = performance.now();
  }
}

// ---------------------------------------------------------------- debug overlay

let debugEl = null;
function debugRender() {
  if (!settings || !settings.debug) return;
  if (!debugEl) {
    debugEl = document.createElement('aside');
    debugEl.setAttribute('data-ew-debug', '');
    Object.assign(debugEl.style, {
      position: 'fixed', left: '8px', top: '8px', zIndex: '2147483647', maxWidth: '420px',
      maxHeight: '50vh', overflow: 'auto', background: 'rgba(20,24,28,.92)', color: '#e8f0f2',
      font: '12px/1.4 ui-monospace, monospace', padding: '8px 10px', borderRadius: '6px',
    });
    document.body.appendChild(debugEl);
  }
  debugEl.textContent = '';
  const h = document.createElement('div');
  h.textContent = `edgewise ${VERSION} debug`;
  h.style.fontWeight = 'bold';
  debugEl.appendChild(h);
  for (const d of decisions.values()) {
    const row = document.createElement('div');
    row.setAttribute('data-ew-debug-slot', d.slot);
    row.style.marginTop = '6px';
    const title = document.createElement('div');
    title.textContent = `${d.slot} → ${d.variant_id} [${d.source}, p=${d.probability.toFixed(3)}]`;
    row.appendChild(title);
    for (const r of d.reasons) {
      const li = document.createElement('div');
      li.textContent = `· ${r}`;
      li.style.opacity = '.8';
      row.appendChild(li);
    }
    debugEl.appendChild(row);
  }
}

// ---------------------------------------------------------------- start

function scriptElement() {
  if (document.currentScript && document.currentScript.hasAttribute('data-config')) return document.currentScript;
  return document.querySelector('script[data-config][src*="edgewise"]');
}

async function fetchJson(url, what) {
  const r = await fetch(url, { credentials: 'same-origin' });
  if (!r.ok) throw Object.assign(new Error(`${what} ${url}: HTTP ${r.status}`), { code: `${what}_unavailable` });
  try {
    return await r.json();
  } catch {
    throw Object.assign(new Error(`${what} ${url} is not valid JSON`), { code: `${what}_invalid` });
  }
}

async function fetchBytes(url, what) {
  const r = await fetch(url, { credentials: 'same-origin' });
  if (!r.ok) throw Object.assign(new Error(`${what} ${url}: HTTP ${r.status}`), { code: 'model_unavailable' });
  return new Uint8Array(await r.arrayBuffer());
}

function fail(e) {
  failed = e;
  clearTimeout(revealTimer);
  revealAll('default');
  reportOnce(`${(e && e.code) || 'load'}:start`, `${(e && e.message) || e}; showing the default content`, e);
  emit('ready', { ok: false, error: (e && e.message) || String(e) });
  return { ok: false, error: (e && e.message) || String(e) };
}

/**
 * Starts edgewise. The classic build calls it by itself with the script tag's `data-config`;
 * an ES module user calls `start({config: url | object, wasm?: url})`.
 */
function start(options = {}) {
  if (started) return started;
  const t0 = performance.now();
  const script = options.script || scriptElement();
  const base = (script && script.src) || location.href;
  const configRef = options.config || (script && script.getAttribute('data-config'));
  const timeoutAttr = Number(script && script.getAttribute('data-anti-flicker-ms'));
  const antiFlicker = Number.isFinite(timeoutAttr) && timeoutAttr >= 0 ? timeoutAttr : DEFAULT_ANTI_FLICKER_MS;

  if (document.readyState === 'loading') {
    // Hide slots as the parser reaches them, not only those already parsed.
    const mo = new MutationObserver(() => markPending());
    mo.observe(document.documentElement, { childList: true, subtree: true });
    document.addEventListener('DOMContentLoaded', () => {
      mo.disconnect();
      markPending();
    });
  }
  markPending();
  revealTimer = setTimeout(() => revealAll('timeout'), antiFlicker);

  started = (async () => {
    try {
      if (typeof WebAssembly !== 'object' || typeof fetch !== 'function' || typeof Promise !== 'function') {
        throw Object.assign(new Error('this browser lacks WebAssembly or fetch'), { code: 'unsupported' });
      }
      if (!configRef) throw Object.assign(new Error('no config: add data-config="/path/config.json" to the script tag'), { code: 'config_missing' });
      const configUrl = typeof configRef === 'string' ? new URL(configRef, base).href : location.href;
      const site = typeof configRef === 'string' ? await fetchJson(configUrl, 'config') : configRef;
      if (!site || typeof site !== 'object' || !site.engine) {
        throw Object.assign(new Error('config must be {"engine": {...engine config...}, "models": [...], ...}'), { code: 'config_invalid' });
      }
      settings = { ...site, debug: site.debug || /[?&]ew_debug=1\b/.test(location.search) };
      const at = (u) => new URL(u, configUrl).href;
      const wasmUrl = at(options.wasm || site.wasm || new URL('edgewise_bg.wasm', base).href);
      const [eng] = await Promise.all([
        typeof site.engine === 'string' ? fetchJson(at(site.engine), 'config') : site.engine,
        init({ module_or_path: fetch(wasmUrl, { credentials: 'same-origin' }) }).catch((e) => {
          throw Object.assign(new Error(`the wasm module ${wasmUrl} did not load (${(e && e.message) || e})`), { code: 'wasm_unavailable' });
        }),
        Promise.all(
          (site.models || []).map(async (m) => {
            if (m.compiled) return { compiled: await fetchBytes(at(m.compiled), 'model') };
            const [manifest, onnx] = await Promise.all([fetchJson(at(m.manifest), 'model'), fetchBytes(at(m.onnx), 'model')]);
            return { manifest, onnx };
          }),
        ).then((ms) => {
          models = ms;
        }),
      ]);
      // The include counts a decision as shown when its element is visible.
      engineConfig = { exposure: 'explicit', ...eng };
      // `?ew_seed=N` makes the choices repeatable (tests, demos); otherwise secure randomness.
      const seed = /[?&]ew_seed=(\d{1,15})\b/.exec(location.search);
      engine = wasm.Engine.create(engineConfig, models, seed ? { seed: Number(seed[1]) } : undefined);
      call('setContext', () =>
        engine.setContext({
          device: /Mobi|Android|iPhone/i.test(navigator.userAgent) ? 'mobile' : /iPad|Tablet/i.test(navigator.userAgent) ? 'tablet' : 'desktop',
          hour_of_day: new Date().getHours(),
        }),
      );
      readGpc();
      hookConsentMode();
      hookTcf();
      for (const [op, arg] of queue.splice(0)) api[op](arg);
      tryRestore();
      if ('IntersectionObserver' in window) observer = new IntersectionObserver(onVisible, { threshold: 0.5 });
      pageView();
      if (document.readyState === 'loading') await new Promise((r) => document.addEventListener('DOMContentLoaded', r, { once: true }));
      decideAll(scanSlots());
      clearTimeout(revealTimer);
      revealAll('default');
      document.addEventListener('click', onClick, true);
      window.addEventListener('scroll', onScroll, { passive: true });
      document.addEventListener('visibilitychange', onHide);
      window.addEventListener('pagehide', () => {
        dwell();
        flush();
      });
      hookHistory();
      const ms = Math.round(performance.now() - t0);
      emit('ready', { ok: true, ms, build: wasm.build(), version: wasm.version() });
      return { ok: true, ms };
    } catch (e) {
      return fail(e);
    }
  })();
  return started;
}

// ---------------------------------------------------------------- the public API

const api = {
  version: VERSION,
  start,
  track,
  setConsent,
  withdraw,
  flush,
  on(name, fn) {
    if (typeof fn !== 'function') return api;
    if (!listeners.has(name)) listeners.set(name, new Set());
    listeners.get(name).add(fn);
    return api;
  },
  off(name, fn) {
    const set = listeners.get(name);
    if (set) set.delete(fn);
    return api;
  },
  /** Commands queued before load (`(window.edgewise = window.edgewise || []).push([...])`). */
  push(cmd) {
    if (Array.isArray(cmd) && typeof api[cmd[0]] === 'function') api[cmd[0]](...cmd.slice(1));
  },
  /** Rewards the decision of a slot (or a decision id) with a value in [0, 1]. */
  reward(slotOrId, value = 1) {
    const d = decisions.get(slotOrId) || [...decisions.values()].find((x) => x.decision_id === slotOrId);
    return rewardDecision(d, value, 'api');
  },
  /** Decides the marked slots again (e.g. after a framework re-rendered them). */
  refresh() {
    if (!engine) return;
    markPending();
    scanSlots();
    decideAll([...elementsBySlot.keys()]);
  },
  decisions() {
    return Object.fromEntries(decisions);
  },
  /** What the engine sees and would send: for debug panels. */
  inspect() {
    if (!engine) return { ready: false, error: failed ? failed.message : null };
    return {
      ready: true,
      scores: call('scores', () => engine.scores()),
      state: call('state', () => engine.state()),
      receipt: call('consentReceipt', () => engine.consentReceipt()),
      sync: call('syncPayload', () => engine.syncPayload()),
      measurement: call('measurementPayload', () => engine.measurementPayload()),
      events: recentEvents.slice(),
      decisions: Object.fromEntries(decisions),
      exposed: [...exposed],
      rewarded: [...rewarded],
      storageKey: stateKey(),
    };
  },
  /** The wasm module's exports (Engine, simulate, version, build) once loaded. */
  get module() {
    return engine ? wasm : null;
  },
  get engine() {
    return engine;
  },
};

export default api;
export { start, track, setConsent, withdraw, flush };

// Take over `window.edgewise` (commands queued there before load run once the engine exists)
// and start from the script tag's data-config, when there is one.
if (typeof window !== 'undefined' && typeof document !== 'undefined') {
  const pre = window.edgewise;
  window.edgewise = api;
  if (Array.isArray(pre)) for (const cmd of pre) api.push(cmd);
  if (scriptElement()) start();
}
