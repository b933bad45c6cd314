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
//
// Its size is budgeted (`[include] budget` in wasm-pack.toml), so it is written small: repeated
// attribute names are constants, engine calls go through `ask`, errors through `err`.
// scripts/build-www.mjs minifies it, mangles the private `__ew…` fields of its own records, and
// adapts the wasm-bindgen glue: it exports the glue's instantiation internals (the include
// fetches and instantiates the module itself, so the glue's generic loader is not bundled) and
// shortens the import names (see `importNamed`).
import { Engine, build, simulate, version, __wbg_get_imports, __wbg_finalize_init } from '../pkg/web/edgewise.js';

const VERSION = '0.1.0';
const CLASS_RE = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
const SLOT_ATTR = 'data-ew-slot';
// Marked elements, but never <script> or <style>: text set there would run as code.
const SLOTS = `:not(script,style)[${SLOT_ATTR}]`;
const FIELD_ATTR = 'data-ew-field';
const DECISION_ATTR = 'data-ew-decision';
const DEFAULT = 'default';
const LOCAL = 'localStorage';
const SESSION = 'sessionStorage';
const SAME_ORIGIN = { credentials: 'same-origin' };

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
let wasmExports = null; // the instance's exports, once loaded
let wasmCompiled = null; // the compiled module and its imports: a new instance after a trap
let wasmImports = null;
let engineOptions;
let lastGood = null; // the newest snapshot a healthy engine gave: what a new instance restores
let revivals = 0;
const decisions = new Map(); // slot id -> decision (the one applied on this page)
const elementsBySlot = new Map(); // slot id -> Set<Element>
const originals = new WeakMap(); // element -> {__ewText, __ewClasses, __ewFields} before we touched it
const visibility = new WeakMap(); // element -> its own style.visibility while we hide it
const exposed = new Set(); // decision ids reported visible
const rewarded = new Set(); // decision ids rewarded
const recentEvents = [];
// The last consent call of each kind (Consent Mode updates merged), in the order of those last
// calls: replayed into an engine restored from storage (a snapshot never carries consent).
// Each source's final word only: replaying every call would pass through states that deny
// what the final one allows (Consent Mode's "default denied, then update granted"), and a
// denial wipes the restored state.
const consentLog = {};
let observer = null;
let restored = false;
let lastPath = '';
let pageShownAt = 0;
let maxScroll = 0;

// ---------------------------------------------------------------- small helpers

/** An Error with a `code`, as the engine's errors have. */
const err = (code, message) => Object.assign(new Error(message), { code });

/** What to say about a thrown value. */
const text = (e) => String((e && e.message) || e);

const emit = (name, detail) => {
  for (const fn of [...(listeners.get(name) || [])]) {
    try {
      fn(detail);
    } catch (e) {
      reportOnce(`listener:${name}`, `a '${name}' listener threw: ${text(e)}`);
    }
  }
};

/** One console line per distinct problem; every problem also reaches on('error'). */
const reportOnce = (key, message, error) => {
  if (!reported.has(key)) {
    reported.add(key);
    console.error(`edgewise: ${message}`);
  }
  emit('error', { message, code: (error && error.code) || key.split(':')[0], error });
};

const storage = (name) => {
  try {
    return window[name] || null;
  } catch {
    // Storage access throws when the browser blocks it: act as if there were none.
    return null;
  }
};

const storages = () => [storage(LOCAL), storage(SESSION)].filter(Boolean);

const b64encode = (bytes) => {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
};

const b64decode = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

const stateKey = () => {
  const prefix = (engineConfig && typeof engineConfig.storage_prefix === 'string' && engineConfig.storage_prefix) || 'edgewise';
  return `${prefix}:state`;
};

/** Deletes a state key and its `~` copy (see persist). */
const removeState = (s, key) => {
  s.removeItem(key);
  s.removeItem(`${key}~`);
};

/** Deletes our stored state from both storages. */
const forget = () => {
  for (const s of storages()) removeState(s, stateKey());
};

const call = (what, fn) => {
  try {
    return fn();
  } catch (e) {
    reportOnce(`${(e && e.code) || 'error'}:${what}`, `${what} failed: ${text(e)}`, e);
    // The engine's own errors have a code and leave it usable. Anything else — a trap
    // (RuntimeError), a throw through the module from an import — leaves its state unknown.
    if (engine && !(e && e.code)) revive(e);
    return undefined;
  }
};

/** Calls the consent methods of this page (each one's last call) on a new engine. */
const replayConsent = (next) => {
  for (const method in consentLog) {
    try {
      next[method](consentLog[method]);
    } catch {
      // Reported when it first failed.
    }
  }
};

/**
 * Drops the wasm instance after a trap and carries on with a new one (the compiled module is
 * kept), restored from the last good snapshot or fresh; the page's DOM stays as it is. After
 * three traps on one page, or when the new engine fails too, the include stops: defaults.
 */
const revive = (e) => {
  const old = engine;
  engine = null;
  // Its memory goes with the old instance; unregistered, so the glue's finalizer never frees
  // the pointer in the new one.
  old.__destroy_into_raw();
  if (revivals++ < 3) {
    try {
      wasmExports = __wbg_finalize_init(new WebAssembly.Instance(wasmCompiled, wasmImports), wasmCompiled);
      try {
        engine = Engine.restore(lastGood, engineConfig, models);
      } catch {
        engine = Engine.create(engineConfig, models, engineOptions);
        context();
      }
      replayConsent(engine);
    } catch (e2) {
      engine = null;
      e = e2;
    }
  }
  if (!engine) fail(e);
};

/** `engine[method](arg)` through `call`, reported under the method's name. */
const ask = (method, arg) => call(method, () => engine[method](arg));

/** Whether the consent lets anything of ours live in storage. */
const mayStore = (st) => st.consent.personalization || st.consent.storage;

/** Replaces `obj[name]` with a function that calls it, then `after(args)`. */
const wrap = (obj, name, after) => {
  const orig = obj[name];
  obj[name] = function (...args) {
    const r = orig.apply(this, args);
    after(args);
    return r;
  };
};

// ---------------------------------------------------------------- anti-flicker

const markPending = () => {
  for (const el of document.querySelectorAll(SLOTS)) {
    if (el.hasAttribute('data-ew-state')) continue;
    if (el.hasAttribute(DECISION_ATTR)) {
      // Decided at the edge (www/edge) before the HTML arrived: leave it as it is.
      el.setAttribute('data-ew-state', 'edge');
      continue;
    }
    el.setAttribute('data-ew-state', 'pending');
    // CSSOM, not a style attribute: allowed under a CSP without 'unsafe-inline' styles.
    visibility.set(el, el.style.visibility);
    el.style.visibility = 'hidden';
  }
};

const reveal = (el, state) => {
  if (el.getAttribute('data-ew-state') === 'pending') {
    el.style.visibility = visibility.get(el) || '';
  }
  el.setAttribute('data-ew-state', state);
};

const revealAll = (state) => {
  for (const el of document.querySelectorAll(`[${SLOT_ATTR}][data-ew-state="pending"]`)) reveal(el, state);
};

// ---------------------------------------------------------------- applying decisions

const remember = (el) => {
  let o = originals.get(el);
  if (!o) {
    const fields = new Map();
    for (const f of el.querySelectorAll(`[${FIELD_ATTR}]`)) fields.set(f, f.textContent);
    originals.set(el, (o = { __ewText: el.textContent, __ewClasses: [...el.classList], __ewFields: fields }));
  }
  return o;
};

const layoutAllowList = (el) => {
  const own = (el.getAttribute('data-ew-layouts') || '').match(/\S+/g) || [];
  const cfg = (settings && Array.isArray(settings.layout_classes) && settings.layout_classes) || [];
  return new Set([...own, ...cfg].filter((c) => CLASS_RE.test(c)));
};

/** Puts a (non-default) decision into one element, as text only. Returns false when it could not. */
const applyTo = (el, d) => {
  remember(el);
  const content = d.content;
  if (d.kind === 'copy') {
    if (typeof content !== 'string') return false;
    el.textContent = content;
    return true;
  }
  if (d.kind === 'layout') {
    // The engine accepts only one class name as a layout's content (check_content).
    const cls = content;
    const allowed = layoutAllowList(el);
    if (typeof cls !== 'string' || !allowed.has(cls)) {
      reportOnce(`layout_not_allowed:${d.slot}:${cls}`, `${d.slot}: layout ${cls} not on the allow-list`);
      return false;
    }
    for (const c of allowed) el.classList.remove(c);
    el.classList.add(cls);
    return true;
  }
  if (d.kind === 'offer') {
    if (!content || typeof content !== 'object' || Array.isArray(content)) return false;
    let filled = 0;
    for (const f of el.querySelectorAll(`[${FIELD_ATTR}]`)) {
      const v = content[f.getAttribute(FIELD_ATTR)];
      // The engine accepts only text in an offer's fields (check_content).
      if (typeof v === 'string') {
        f.textContent = v;
        filled++;
      }
    }
    if (!filled) {
      // No template fields: the offer's text in one line.
      const parts = Object.values(content).filter((v) => typeof v === 'string');
      if (!parts.length) return false;
      el.textContent = parts.join(' — ');
    }
    return true;
  }
  return false;
};

const restoreOriginal = (el) => {
  const o = remember(el);
  if (o.__ewFields.size) {
    for (const [f, text] of o.__ewFields) f.textContent = text;
  } else if (el.textContent !== o.__ewText && !el.children.length) {
    el.textContent = o.__ewText;
  }
  for (const c of layoutAllowList(el)) if (!o.__ewClasses.includes(c)) el.classList.remove(c);
  for (const c of o.__ewClasses) el.classList.add(c);
};

/** The engine config's entry for a slot, if it has one. */
const slotConfig = (slot) =>
  engineConfig && Array.isArray(engineConfig.slots) ? engineConfig.slots.find((s) => s && s.id === slot) : undefined;

const decideSlot = (slot) => {
  const d = call(`decide("${slot}")`, () => engine.decide(slot, !!(settings.debug || settings.explain)));
  const els = elementsBySlot.get(slot) || [];
  if (!d) {
    // The engine could not decide: this slot shows its default now.
    for (const el of els) {
      restoreOriginal(el);
      reveal(el, DEFAULT);
    }
    return;
  }
  decisions.set(slot, d);
  const def = (slotConfig(slot) || {}).default;
  for (const el of els) {
    const isDefault = d.variant_id === def;
    if (isDefault) restoreOriginal(el);
    const ok = isDefault || applyTo(el, d);
    el.setAttribute('data-ew-variant', ok ? d.variant_id : String(def));
    el.setAttribute(DECISION_ATTR, d.decision_id);
    el.setAttribute('data-ew-source', ok ? d.source : 'error');
    if (!ok) restoreOriginal(el);
    reveal(el, 'applied');
    if (observer) observer.observe(el);
  }
  if (!observer) expose(d); // no IntersectionObserver: count it as shown
  emit('decision', d);
  debugRender();
};

const scanSlots = () => {
  const fresh = new Set();
  for (const el of document.querySelectorAll(SLOTS)) {
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
  for (const set of elementsBySlot.values()) for (const el of set) if (!el.isConnected) set.delete(el);
  return fresh;
};

const decideAll = (slots) => {
  if (!engine) {
    revealAll(DEFAULT);
    return;
  }
  for (const slot of slots) {
    if (slotConfig(slot)) {
      decideSlot(slot);
      continue;
    }
    reportOnce(`unknown_slot:${slot}`, `data-ew-slot="${slot}" is not in the config`);
    for (const el of elementsBySlot.get(slot) || []) reveal(el, DEFAULT);
  }
  persist();
};

// ---------------------------------------------------------------- exposures and rewards

const expose = (d) => {
  if (!d || exposed.has(d.decision_id)) return;
  exposed.add(d.decision_id);
  ask('expose', d.decision_id);
  emit('exposure', d);
  schedulePersist();
};

const onVisible = (entries) => {
  for (const entry of entries) {
    if (!entry.isIntersecting) continue;
    const id = entry.target.getAttribute(DECISION_ATTR);
    for (const d of decisions.values()) if (d.decision_id === id) expose(d);
    observer.unobserve(entry.target);
  }
};

const rewardDecision = (d, value, why) => {
  if (!d || rewarded.has(d.decision_id) || !engine || !['explore', 'exploit', 'rule'].includes(d.source)) return false;
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
};

/** The site config's `rewards` ({} when it has none). */
const rewards = () => (settings && settings.rewards) || {};

const rewardEvent = (kind) => {
  const value = (rewards().events || {})[kind];
  if (typeof value !== 'number') return;
  for (const d of decisions.values()) if (exposed.has(d.decision_id)) rewardDecision(d, value, kind);
};

// ---------------------------------------------------------------- events

const track = (event) => {
  if (!event || typeof event !== 'object') {
    reportOnce('event_malformed:track', 'track() takes an object');
    return false;
  }
  if (!engine) {
    // Before the engine exists (or when it never will): keep the first 100 for when it starts.
    if (queue.length < 100 && !failed) queue.push(['track', event]);
    return !failed;
  }
  const e = { ...event };
  const ok = call('track', () => {
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
};

const pageView = () => {
  const path = location.pathname + location.search;
  if (path === lastPath) return false;
  lastPath = path;
  pageShownAt = performance.now();
  maxScroll = 0;
  track({ kind: 'page_view' });
  return true;
};

const onClick = (ev) => {
  const el = ev.target && ev.target.closest ? ev.target.closest(`[${SLOT_ATTR}]`) : null;
  if (!el) return;
  track({ kind: 'click' });
  const d = decisions.get(el.getAttribute(SLOT_ATTR));
  const value = rewards().click;
  if (d && typeof value === 'number') {
    expose(d); // a click implies it was seen
    rewardDecision(d, value, 'click');
  }
};

let scrollTimer = 0;
const onScroll = () => {
  if (scrollTimer) return;
  scrollTimer = setTimeout(() => {
    scrollTimer = 0;
    const range = Math.max(1, document.documentElement.scrollHeight - innerHeight);
    const depth = Math.min(1, Math.max(0, scrollY / range));
    // Report in quarters, so a long page yields at most four scroll events.
    const q = Math.floor(depth * 4) / 4;
    if (q > maxScroll) {
      maxScroll = q;
      track({ kind: 'scroll', value: q });
    }
  }, 200);
};

const dwell = () => {
  if (!pageShownAt) return;
  const s = (performance.now() - pageShownAt) / 1000;
  pageShownAt = 0;
  if (s >= 1) track({ kind: 'dwell', value: Math.round(s * 10) / 10 });
};

/** The page is left (or hidden): the dwell time, then store and send what the gate releases. */
const leave = () => {
  dwell();
  flush();
};

const onNavigate = () => {
  if (!engine) return;
  dwell();
  if (!pageView()) return;
  // New route: decide the slots the new view brought (elements already decided keep theirs).
  setTimeout(() => {
    markPending();
    decideAll(scanSlots());
  }, 0);
};

const hookHistory = () => {
  for (const m of ['pushState', 'replaceState']) if (typeof history[m] === 'function') wrap(history, m, onNavigate);
  addEventListener('popstate', onNavigate);
};

// ---------------------------------------------------------------- consent

/** Calls a consent method on the engine, logs it for a later restore, applies the change. */
const consent = (method, arg, source) => {
  const prev = consentLog[method];
  delete consentLog[method];
  consentLog[method] = method == 'setConsentMode' ? { ...prev, ...arg } : arg;
  const change = ask(method, arg);
  consentChanged(change, source);
  return change || null;
};

const consentChanged = (change, source) => {
  if (!change) return;
  for (const key of change.delete_keys || []) for (const s of storages()) removeState(s, key);
  if (change.wiped) {
    exposed.clear();
    rewarded.clear();
  }
  emit('consent', { source, change, receipt: ask('consentReceipt') });
  tryRestore();
  // What the visitor may see changed: decide the slots again under the new purposes.
  const personalized = [...decisions.values()].some((d) => d.source !== 'no_consent' && d.source !== 'holdout');
  const allowed = change.purposes && (change.purposes.personalization || change.session_personalization);
  // decideAll stores the state itself; otherwise (and while starting, before any slot is known)
  // one debounced store serves every consent source that speaks.
  if (elementsBySlot.size > 0 && (!!allowed !== personalized || change.wiped)) decideAll([...elementsBySlot.keys()]);
  else schedulePersist();
};

const setConsent = (purposes) => {
  if (engine) return consent('setConsent', purposes, 'host');
  if (!failed) queue.push(['setConsent', purposes]);
  return null;
};

const withdraw = () => {
  let change = null;
  if (engine) change = consent('withdraw', undefined, 'withdraw');
  else if (!failed) queue.push(['withdraw']);
  // Nothing of ours stays behind, whatever the config named and whatever happens to the engine.
  forget();
  return change;
};

const readGpc = () => {
  if (navigator.globalPrivacyControl === true) consent('setGpc', true, 'gpc');
};

const hookTcf = () => {
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
    reportOnce('tcf:addEventListener', `__tcfapi threw: ${text(e)}`, e);
  }
};

const consentModeEntry = (entry) => {
  // gtag('consent', 'default' | 'update', {...}) pushes its `arguments` object.
  const signals = entry && typeof entry === 'object' && entry[0] === 'consent' && entry[2];
  if (!signals || typeof signals !== 'object') return;
  const clean = {};
  for (const [k, v] of Object.entries(signals)) if (v === 'granted' || v === 'denied') clean[k] = v;
  consent('setConsentMode', clean, 'consent_mode');
};

const hookConsentMode = () => {
  const dl = window.dataLayer;
  if (!Array.isArray(dl)) return;
  for (const entry of dl) consentModeEntry(entry);
  wrap(dl, 'push', (items) => items.forEach(consentModeEntry));
};

// ---------------------------------------------------------------- storage and sync

/** Restores the stored state once, when the engine says the consent allows that scope. */
const tryRestore = () => {
  if (restored || !engine) return;
  const scope = ask('snapshotScope');
  const st = ask('state');
  if (!st || !mayStore(st)) return;
  const store = storage(scope === 'persistent' ? LOCAL : SESSION);
  restored = true;
  // The copy under `<key>~` is newer when present: a store that stopped before its swap.
  for (const key of store ? [`${stateKey()}~`, stateKey()] : []) {
    const text = store.getItem(key);
    if (!text) continue;
    try {
      const prev = engine;
      // The snapshot's own version and CRC-32 are checked by the engine.
      const next = Engine.restore(b64decode(text), engineConfig, models);
      replayConsent(next);
      for (const e of recentEvents) {
        try {
          next.track({ ...e });
        } catch {
          // An event the restored session refuses (e.g. before its start): left out.
        }
      }
      engine = next;
      prev.free();
      return emit('restore', { scope, bytes: text.length, notes: next.state().restore_notes });
    } catch (e) {
      // Expired, corrupt or from another config: drop it (start fresh, or from the older copy).
      store.removeItem(key);
      emit('restore', { scope, error: (e && e.code) || String(e) });
    }
  }
};

let persistTimer = 0;
const schedulePersist = () => {
  if (persistTimer) return;
  persistTimer = setTimeout(() => {
    persistTimer = 0;
    persist();
  }, 250);
};

/** Stores the snapshot where the gate says it may live; nothing without consent. */
const persist = () => {
  // Stores now: a store still scheduled would only repeat it.
  clearTimeout(persistTimer);
  persistTimer = 0;
  const st = engine && ask('state');
  if (!st) return;
  if (!mayStore(st)) return forget();
  const scope = ask('snapshotScope');
  const bytes = ask('snapshot');
  if (!bytes || !bytes.length) return;
  lastGood = bytes;
  const key = stateKey();
  const local = storage(LOCAL);
  const session = storage(SESSION);
  const [keep, drop] = scope === 'persistent' ? [local, session] : [session, local];
  const data = b64encode(bytes);
  try {
    if (keep) {
      // Write-new-then-swap: the new state under `<key>~`, read back, then under `<key>`. A
      // write that fails (quota) or is cut short leaves the state stored before it intact.
      keep.setItem(`${key}~`, data);
      if (keep.getItem(`${key}~`) !== data) throw { name: 'read back differently' };
      keep.setItem(key, data);
      keep.removeItem(`${key}~`);
    }
    if (drop) removeState(drop, key);
  } catch (e) {
    reportOnce('storage_full', `state not stored (${e && e.name})`, e);
  }
};

/** Sends the sync and measurement payloads the gate released, with sendBeacon. */
const flush = () => {
  const out = { sync: null, measurement: null };
  if (!engine) return out;
  persist();
  for (const what of Object.keys(out)) {
    const url = settings && settings[what] && settings[what].url;
    const r = (out[what] = call(what, () => engine[`${what}Payload`]()) || null);
    if (!url || !r || !r.ok) continue;
    const body = new Blob([r.payload], { type: 'application/json' });
    // sendBeacon throws for a URL that is not http(s), and is missing in old browsers.
    try {
      if (!navigator.sendBeacon(url, body)) throw 0;
    } catch {
      fetch(url, { ...SAME_ORIGIN, method: 'POST', body, keepalive: true }).catch(() => {});
    }
    emit('sync', { what, url, bytes: r.payload.length });
  }
  return out;
};

const onHide = () => {
  if (document.visibilityState === 'hidden') leave();
  else if (!pageShownAt) pageShownAt = performance.now();
};

// ---------------------------------------------------------------- debug overlay

/** A new element with text (never HTML) and CSSOM styles (allowed under the CSP). */
const node = (tag, content, css) => {
  const n = document.createElement(tag);
  n.textContent = content;
  n.style.cssText = css;
  return n;
};

let debugEl = null;
const debugRender = () => {
  if (!settings || !settings.debug) return;
  if (!debugEl) {
    debugEl = node(
      'aside',
      '',
      'position:fixed;top:0;z-index:99999;max-height:50vh;overflow:auto;background:#000d;color:#fff;font:12px monospace;padding:8px',
    );
    debugEl.setAttribute('data-ew-debug', '');
    document.body.appendChild(debugEl);
  }
  debugEl.replaceChildren(
    node('b', `edgewise ${VERSION}`, ''),
    ...[...decisions.values()].map((d) => {
      const row = node('div', '', '');
      row.setAttribute('data-ew-debug-slot', d.slot);
      row.append(
        node('div', `${d.slot} → ${d.variant_id} [${d.source}, p=${d.probability.toFixed(3)}]`, ''),
        ...d.reasons.map((r) => node('div', `· ${r}`, '')),
      );
      return row;
    }),
  );
};

// ---------------------------------------------------------------- start

const scriptElement = () => {
  const s = document.currentScript;
  return s && s.hasAttribute('data-config') ? s : document.querySelector('script[data-config][src*="edgewise"]');
};

/** Fetches JSON, or bytes with `bytes` set; errors carry `<what>_unavailable` / `<what>_invalid`. */
const get = async (url, what, bytes) => {
  const r = await fetch(url, SAME_ORIGIN).catch((e) => ({ status: text(e) }));
  if (!r.ok) throw err(`${what}_unavailable`, `${what} ${url}: ${r.status}`);
  if (bytes) return new Uint8Array(await r.arrayBuffer());
  try {
    return await r.json();
  } catch {
    throw err(`${what}_invalid`, `${what} ${url} is not valid JSON`);
  }
};

/**
 * The glue's import function the wasm module asks for by `name`. scripts/build-www.mjs shortens
 * the hashed names (`__wbg_now_463ac581d2fc7ea3` → `__wbg_now`, or `__wbg_new_13de` where the
 * name alone is ambiguous) and checks, with its copy of this function, that every import of the
 * wasm module finds the function the glue had under that exact name.
 */
const importNamed = (fns, name) => fns[name] || fns[name.slice(0, -17)] || fns[name.slice(0, -12)];

/** Fetches and instantiates the wasm module (streaming compile) and sets up the glue. */
const loadWasm = async (url) => {
  const r = await fetch(url, SAME_ORIGIN);
  if (!r.ok) throw Error(`HTTP ${r.status}`);
  const imports = __wbg_get_imports();
  for (const m in imports) imports[m] = new Proxy(imports[m], { get: importNamed });
  let result;
  try {
    result = await WebAssembly.instantiateStreaming(r, imports);
  } catch (e) {
    if (r.headers.get('Content-Type') === 'application/wasm') throw e;
    // Not served as application/wasm: compile from the bytes, as the glue's own loader does.
    console.warn('edgewise: wasm MIME type', e);
    result = await WebAssembly.instantiate(await r.arrayBuffer(), imports);
  }
  wasmCompiled = result.module;
  wasmImports = imports;
  wasmExports = __wbg_finalize_init(result.instance, result.module);
};

/** The device class and hour of day, for a new engine. */
const context = () => {
  const ua = navigator.userAgent;
  ask('setContext', {
    device: /Mobi|Android|iPhone/i.test(ua) ? 'mobile' : /iPad|Tablet/i.test(ua) ? 'tablet' : 'desktop',
    hour_of_day: new Date().getHours(),
  });
};

const fail = (e) => {
  const error = text(e);
  failed = e;
  clearTimeout(revealTimer);
  revealAll(DEFAULT);
  reportOnce(`${(e && e.code) || 'load'}:start`, `${error}; showing the default content`, e);
  emit('ready', { ok: false, error });
  return { ok: false, error };
};

/**
 * Starts edgewise. The classic build calls it by itself with the script tag's `data-config`;
 * an ES module user calls `start({config: url | object, wasm?: url})`.
 */
const start = (options = {}) => {
  if (started) return started;
  const t0 = performance.now();
  const script = options.script || scriptElement();
  const attr = (name) => script && script.getAttribute(name);
  const base = (script && script.src) || location.href;
  const configRef = options.config || attr('data-config');
  const rawTimeout = attr('data-anti-flicker-ms');
  const timeoutAttr = rawTimeout ? Number(rawTimeout) : NaN; // absent: not Number(null) = 0
  const antiFlicker = timeoutAttr >= 0 && timeoutAttr < Infinity ? timeoutAttr : 300; // ms, the default

  if (document.readyState === 'loading') {
    // Hide slots as the parser reaches them, not only those already parsed.
    const mo = new MutationObserver(markPending);
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
      if (typeof WebAssembly !== 'object' || typeof fetch !== 'function') {
        throw err('unsupported', 'no WebAssembly or fetch');
      }
      if (!configRef) throw err('config_missing', 'no data-config on the script tag');
      const byUrl = typeof configRef === 'string';
      const configUrl = byUrl ? new URL(configRef, base).href : location.href;
      const site = byUrl ? await get(configUrl, 'config') : configRef;
      if (!site || typeof site !== 'object' || !site.engine) {
        throw err('config_invalid', 'the config has no "engine"');
      }
      settings = { ...site, debug: site.debug || /[?&]ew_debug=1\b/.test(location.search) };
      const at = (u) => new URL(u, configUrl).href;
      const wasmUrl = at(options.wasm || site.wasm || new URL('edgewise_bg.wasm', base).href);
      const [eng, , loaded] = await Promise.all([
        typeof site.engine === 'string' ? get(at(site.engine), 'config') : site.engine,
        loadWasm(wasmUrl).catch((e) => {
          throw err('wasm_unavailable', `the wasm module ${wasmUrl} did not load (${text(e)})`);
        }),
        Promise.all(
          (site.models || []).map(async (m) => {
            if (m.compiled) return { compiled: await get(at(m.compiled), 'model', true) };
            const [manifest, onnx] = await Promise.all([get(at(m.manifest), 'model'), get(at(m.onnx), 'model', true)]);
            return { manifest, onnx };
          }),
        ),
      ]);
      models = loaded;
      // The include counts a decision as shown when its element is visible.
      engineConfig = { exposure: 'explicit', ...eng };
      // `?ew_seed=N` makes the choices repeatable (tests, demos); otherwise secure randomness.
      const seed = /[?&]ew_seed=(\d{1,15})\b/.exec(location.search);
      engineOptions = seed ? { seed: Number(seed[1]) } : undefined;
      engine = Engine.create(engineConfig, models, engineOptions);
      context();
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
      revealAll(DEFAULT);
      document.addEventListener('click', onClick, true);
      addEventListener('scroll', onScroll, { passive: true });
      document.addEventListener('visibilitychange', onHide);
      addEventListener('pagehide', leave);
      hookHistory();
      const ms = Math.round(performance.now() - t0);
      emit('ready', { ok: true, ms, build: build(), version: VERSION });
      return { ok: true, ms };
    } catch (e) {
      return fail(e);
    }
  })();
  return started;
};

// ---------------------------------------------------------------- the public API

const api = {
  version: VERSION,
  start,
  track,
  setConsent,
  withdraw,
  flush,
  on(name, fn) {
    if (typeof fn === 'function') {
      (listeners.get(name) || listeners.set(name, new Set()).get(name)).add(fn);
    }
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
      scores: ask('scores'),
      state: ask('state'),
      receipt: ask('consentReceipt'),
      sync: ask('syncPayload'),
      measurement: ask('measurementPayload'),
      events: recentEvents.slice(),
      decisions: api.decisions(),
      exposed: [...exposed],
      rewarded: [...rewarded],
      storageKey: stateKey(),
    };
  },
  /** The wasm module's exports (Engine, simulate, version, build) once loaded. */
  get module() {
    return engine ? wasmModule : null;
  },
  get engine() {
    return engine;
  },
};

/**
 * What `edgewise.module` gives: the glue's exports. Loading is done, so `default` (init) and
 * `initSync` give the instance's exports at once, as the glue's own do once loaded.
 */
const wasmModule = {
  Engine,
  build,
  default: async () => wasmExports,
  initSync: () => wasmExports,
  simulate,
  version,
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
