// edgewise at the edge: a Cloudflare Worker (ES module syntax) that decides before the HTML
// reaches the browser. For each request it proxies to the origin; for an HTML page with
// `data-ew-slot` elements it builds one engine for this visitor (restored from the signed
// `ew_state` cookie when consent allows, else from the request alone), decides the slots on the
// page, rewrites them as text with HTMLRewriter, and sends the page with `Cache-Control: private`.
// Anything else passes through untouched. On any failure of ours the origin's response is served
// as it came and one `console.error` line says why — never a 5xx of our making.
//
// Isolate-level state (`iso`) holds only the wasm instance, the engine config, model bytes, the
// pooled priors and the config text merged from them (short TTL), the HMAC key, and outcome
// counts summed over requests until the next flush to the prior store. Every visitor gets a
// fresh engine that is freed before the response leaves; requests share no promise.
//
// Endpoints: POST /edgewise/reward, GET /edgewise/priors, GET /edgewise/health.

import { initSync, Engine, Shared, build as wasmBuild, version as wasmVersion } from "./edgewise.js";
import wasmModule from "./edgewise_bg.wasm";
import {
  STATE_COOKIE,
  MAX_STATE_COOKIE,
  parseCookies,
  readConsent,
  mightStore,
  applyConsent,
  importStateKey,
  sealState,
  openState,
  stateCookieHeader,
} from "./state.js";
import { requestContext, compileRoutes, pathEvents } from "./context.js";
import { hasSlotMarker, slotTable, rewriteHtml } from "./rewrite.js";
import { outcomes, outcomeKeys, outcomeDelta, addInto, capPriors, withPriors, postDelta, readTotals } from "./priors.js";
import { PriorStore } from "./store.js";

export { PriorStore };

/** How long a failed config/model load is remembered before the next request retries it. */
const RETRY_MS = 10_000;
/** How long the first request of an isolate waits for pooled priors before going without. */
const FIRST_PRIORS_WAIT_MS = 500;

const iso = {
  wasm: false,
  runtime: null, // {config, configText, models, shared, modelNames, nothingWithout, slots, routes}
  failure: null, // {message, at}
  priors: null, // {priors, text, at}
  priorsRefreshAt: 0,
  keySecret: Symbol("none yet"),
  poolBuffer: null, // summed deltas (counts only, no visitor data) awaiting the next flush
  key: null,
  warned: new Set(),
};

function setting(env, name, fallback, min, max) {
  const raw = env[name];
  if (raw === undefined || raw === null || raw === "") return fallback;
  const x = Number(raw);
  return Number.isFinite(x) && x >= min && x <= max ? x : fallback;
}

function reason(e) {
  const code = e && e.code ? `[${e.code}] ` : "";
  return `${code}${(e && e.message) || e}`.replace(/\s+/g, " ").slice(0, 500);
}

/** console.error once per isolate for conditions that would otherwise repeat on every request. */
function errorOnce(key, message) {
  if (iso.warned.has(key)) return;
  iso.warned.add(key);
  console.error(message);
}

function json(body, status = 200, headers = {}) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
  });
}

// ── config, models, priors (isolate caches) ─────────────────────────────────────────────────

async function asset(env, path, kind = "text") {
  if (!env.EW_ASSETS) throw new Error("no EW_ASSETS binding: the worker has no config or models");
  if (typeof path !== "string" || !/^[A-Za-z0-9._/-]{1,200}$/.test(path) || path.includes("..")) {
    throw new Error(`edge.json names a bad asset path ${JSON.stringify(path)}`);
  }
  const res = await env.EW_ASSETS.fetch(`https://edgewise-assets.internal/${path}`);
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`asset ${path} is missing (HTTP ${res.status})`);
  }
  const bytes = new Uint8Array(await res.arrayBuffer());
  return kind === "bytes" ? bytes : new TextDecoder().decode(bytes);
}

async function loadRuntime(env) {
  if (!iso.wasm) {
    initSync({ module: wasmModule });
    iso.wasm = true;
  }
  const manifest = JSON.parse(await asset(env, "edge.json"));
  const configText = await asset(env, manifest.config || "config.json");
  const config = JSON.parse(configText);
  const models = await Promise.all(
    (manifest.models || []).map(async (m) =>
      m.compiled
        ? { compiled: await asset(env, m.compiled) }
        : { manifest: await asset(env, m.manifest), onnx: await asset(env, m.onnx, "bytes") },
    ),
  );
  // Loads every model and checks the config against their scores once: a corrupt model fails
  // here, not in a visitor's request.
  const probe = Engine.create(configText, models, { seed: 1 });
  let modelNames, silent, refused;
  try {
    modelNames = probe.state().models;
    // Ask the engine once what this config allows when no consent source speaks, and when the
    // banner said no to everything (no TCF string in either case). When that is nothing — no
    // personalization, no session-only choice, no storage — such requests get the origin's page
    // as it is: every decision would be the default and nothing may be kept.
    const allowsNothing = (c) => !c.purposes.personalization && !c.purposes.storage && !c.session_personalization;
    silent = allowsNothing(probe.clearTcf());
    refused = allowsNothing(
      probe.setConsent({ storage: false, personalization: false, measurement: false, profile_sync: false }),
    );
  } finally {
    probe.free();
  }
  return {
    config,
    configText: JSON.stringify(config),
    models,
    // Config and models parsed once for every engine of this isolate (Engine.createShared).
    shared: Shared.load(configText, models),
    modelNames,
    nothingWithout: { silent, refused },
    slots: slotTable(config),
    // measurementCounts() order: the pooled deltas are keyed without any JSON per request.
    outcomeKeys: outcomeKeys(config),
    routes: compileRoutes(manifest.routes),
  };
}

/**
 * The loaded runtime. Requests do not share promises (a promise tied to one request's I/O must
 * not be awaited by another): until one load has finished, each request loads for itself.
 */
async function getRuntime(env) {
  if (iso.runtime) return iso.runtime;
  if (iso.failure && Date.now() - iso.failure.at < RETRY_MS) throw new Error(iso.failure.message);
  try {
    const rt = await loadRuntime(env);
    iso.runtime ??= rt;
    iso.failure = null;
    return iso.runtime;
  } catch (e) {
    iso.failure = { message: `config/models could not be loaded: ${reason(e)}`, at: Date.now() };
    throw new Error(iso.failure.message);
  }
}

async function refreshPriors(env, rt) {
  const maxTrials = setting(env, "PRIOR_MAX_TRIALS", 200, 0, 1e9);
  const totals = await readTotals(env);
  const priors = capPriors(totals, maxTrials, rt.config);
  const text = JSON.stringify(withPriors(rt.config, priors));
  // Engines copy what they need from a Shared when they are made; an entry replaced here is
  // left to the garbage collector, never freed under a request that may still hold it.
  const entry = { priors, text, shared: Shared.load(text, rt.models), at: Date.now() };
  iso.priors = entry;
  return entry;
}

/**
 * The engine config text with pooled priors. Fresh within PRIORS_TTL_S; when stale, pages use
 * the stale entry and refresh in the background (`wait` = false), the priors endpoint waits.
 */
async function priorsFor(env, ctx, rt, wait) {
  const base = { priors: {}, text: rt.configText, shared: rt.shared, at: 0 };
  if (!env.PRIORS) return base;
  const ttlMs = setting(env, "PRIORS_TTL_S", 60, 0, 86400) * 1000;
  const now = Date.now();
  const cur = iso.priors;
  if (cur && now - cur.at < ttlMs) return cur;
  const log = (e) => {
    console.error(`edgewise: pooled priors unavailable, deciding without them: ${reason(e)}`);
    return cur || base;
  };
  if (cur && !wait) {
    if (now - iso.priorsRefreshAt >= Math.max(ttlMs, 1000)) {
      iso.priorsRefreshAt = now;
      ctx.waitUntil(refreshPriors(env, rt).catch(log));
    }
    return cur;
  }
  iso.priorsRefreshAt = now;
  const refresh = refreshPriors(env, rt).catch(log);
  if (wait) return refresh;
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve(null), FIRST_PRIORS_WAIT_MS);
  });
  const got = await Promise.race([refresh, timeout]);
  clearTimeout(timer);
  if (got) return got;
  ctx.waitUntil(refresh);
  return base;
}

async function stateKey(env) {
  const secret = env.STATE_SECRET;
  if (secret === iso.keySecret) return iso.key;
  const key = await importStateKey(secret);
  if (!key) {
    errorOnce(
      "secret",
      "edgewise: STATE_SECRET is missing or shorter than 32 characters; no state cookies (request context only)",
    );
  }
  iso.keySecret = secret;
  iso.key = key;
  return key;
}

// ── one visitor ───────────────────────────────────────────────────────────────────────────────

/**
 * This visitor's engine: restored from a valid state cookie when the request's consent makes the
 * snapshot persistent (storage), else fresh. A cookie that fails the signature, has expired or
 * does not restore is ignored.
 */
async function visitorEngine(rt, shared, key, cookies, consent, now) {
  const raw = cookies.get(STATE_COOKIE);
  if (raw && key) {
    const opened = await openState(key, raw, now);
    if (opened.status === "ok") {
      let engine = null;
      try {
        engine = Engine.restoreShared(opened.bytes, shared, {});
        applyConsent(engine, consent);
        if (engine.snapshotScope() === "persistent") return { engine, restored: true };
      } catch (e) {
        console.warn(`edgewise: a signed state cookie did not restore, starting fresh: ${reason(e)}`);
      }
      engine?.free();
    }
  }
  const engine = Engine.createShared(shared, {});
  try {
    applyConsent(engine, consent);
  } catch (e) {
    engine.free();
    throw e;
  }
  return { engine, restored: false };
}

/** The Set-Cookie for the engine's state: sealed with storage consent, a deletion otherwise. */
async function stateCookieFor(engine, key, hadState, env, url, now) {
  const secure = url.protocol === "https:";
  if (key && engine.snapshotScope() === "persistent") {
    const ttlS = setting(env, "STATE_TTL_S", 30 * 86400, 60, 400 * 86400);
    const header = stateCookieHeader(await sealState(key, engine.snapshot(), now + ttlS * 1000), ttlS, secure);
    if (header.length <= MAX_STATE_COOKIE) return header;
    console.error(`edgewise: the state cookie would be ${header.length} bytes (limit ${MAX_STATE_COOKIE}); not set`);
  }
  return hadState ? stateCookieHeader(null, 0, secure) : null;
}

/**
 * Sends what this request taught to the prior store — only with `measurement` (the engine's
 * gate) and never with GPC. Deltas are summed per isolate and posted once per POOL_FLUSH_MS
 * (0: one post per request) from the waitUntil of the request that opened the batch.
 */
function pool(env, ctx, consent, before, after) {
  if (!env.PRIORS || consent.gpc || !after) return false; // `after` is null when the gate refused
  const delta = outcomeDelta(before, after);
  if (!delta) return false;
  const failed = (e) => console.error(`edgewise: pooling failed: ${reason(e)}`);
  const flushMs = setting(env, "POOL_FLUSH_MS", 1000, 0, 10_000);
  if (flushMs === 0) {
    ctx.waitUntil(postDelta(env, delta).catch(failed));
    return true;
  }
  const opened = iso.poolBuffer === null;
  iso.poolBuffer = addInto(iso.poolBuffer || {}, delta);
  if (opened) {
    ctx.waitUntil(
      new Promise((resolve) => setTimeout(resolve, flushMs))
        .then(() => {
          const batch = iso.poolBuffer;
          iso.poolBuffer = null;
          return postDelta(env, batch);
        })
        .catch(failed),
    );
  }
  return true;
}

function appendVary(headers, names) {
  const have = (headers.get("vary") || "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (have.includes("*")) return;
  const lower = new Set(have.map((s) => s.toLowerCase()));
  for (const n of names) if (!lower.has(n.toLowerCase())) have.push(n);
  headers.set("vary", have.join(", "));
}

/** No TCF string here: does the banner's answer (or its silence) allow nothing at all? */
function nothingAllowed(rt, consent) {
  if (consent.host === null) return rt.nothingWithout.silent;
  return !Object.values(consent.host).some(Boolean) && rt.nothingWithout.refused;
}

/**
 * Personalizes one HTML page. Returns the response, or null when there is nothing to do (no
 * slots on the page and no state to keep). Throws on any failure; the caller then serves the
 * origin's bytes.
 */
async function personalize(request, url, env, ctx, upstream, bytes) {
  const hasSlots = hasSlotMarker(bytes);
  const cookies = parseCookies(request.headers.get("cookie"));
  const consent = readConsent(cookies, request.headers);
  const hadState = cookies.has(STATE_COOKIE);
  if (!hasSlots && !hadState && !mightStore(consent)) return null;

  const rt = await getRuntime(env);
  if (!hadState && !consent.tcf && nothingAllowed(rt, consent)) {
    // The engine allows nothing for this consent (asked at load): the origin's page, which
    // holds the defaults; only Vary says that the response depends on the cookies.
    if (!hasSlots) return null;
    const headers = new Headers(upstream.headers);
    appendVary(headers, ["Cookie"]);
    return new Response(bytes, { status: upstream.status, statusText: upstream.statusText, headers });
  }
  const { shared } = await priorsFor(env, ctx, rt, false);
  const key = await stateKey(env);
  const now = Date.now();
  const { engine, restored } = await visitorEngine(rt, shared, key, cookies, consent, now);
  // The measurement gate is asked only when something could be pooled; a fresh engine starts
  // from zero outcomes.
  const poolable = Boolean(env.PRIORS) && !consent.gpc;
  let body = null;
  let setCookie = null;
  try {
    engine.setContext(requestContext(request, url, now));
    engine.trackMany(pathEvents(rt.routes, url.pathname));
    const before = poolable && restored ? outcomes(engine.measurementCounts(), rt.outcomeKeys) : null;
    if (hasSlots) {
      const r = await rewriteHtml(bytes, upstream.headers.get("content-type"), rt.slots, (slot) =>
        engine.decide(slot, false),
      );
      if (r.errors.length) throw new Error(r.errors[0]);
      if (r.decisions.size) body = r.body;
    }
    const after = poolable ? outcomes(engine.measurementCounts(), rt.outcomeKeys) : null;
    setCookie = await stateCookieFor(engine, key, hadState, env, url, now);
    pool(env, ctx, consent, before, after);
  } finally {
    engine.free();
  }
  if (!body && !setCookie) return null;
  const headers = new Headers(upstream.headers);
  if (body) {
    for (const h of ["content-length", "etag", "last-modified", "content-md5", "accept-ranges"]) headers.delete(h);
  }
  if (setCookie) headers.append("set-cookie", setCookie);
  // Personalized, or carrying this visitor's state: never in a shared cache.
  headers.set("cache-control", "private, max-age=0");
  appendVary(headers, ["Cookie", "Sec-GPC", "User-Agent"]);
  return new Response(body ?? bytes, { status: upstream.status, statusText: upstream.statusText, headers });
}

function originRequest(request, url, env) {
  // On a Cloudflare route the origin is the request's own URL; ORIGIN_URL points elsewhere
  // (local runs, or an origin on another host).
  if (!env.ORIGIN_URL) return request;
  // Only the path and query are taken from the request: a path like `//elsewhere.example/`
  // must not turn into another host (new URL(path, base) would resolve it as one).
  const target = new URL(env.ORIGIN_URL);
  target.pathname = url.pathname;
  target.search = url.search;
  return new Request(target, request);
}

function originFailed(url, e) {
  console.error(`edgewise: the origin failed for ${url.pathname}: ${reason(e)}`);
  return new Response("Bad gateway: the origin did not answer.\n", {
    status: 502,
    headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
  });
}

function personalizable(res, maxBytes) {
  if (res.status !== 200 || !res.body) return false;
  if (!/^\s*text\/html\b/i.test(res.headers.get("content-type") || "")) return false;
  if (/\bno-transform\b/i.test(res.headers.get("cache-control") || "")) return false;
  if (/^\s*attachment\b/i.test(res.headers.get("content-disposition") || "")) return false;
  const len = res.headers.get("content-length");
  return !(len && Number(len) > maxBytes);
}

async function proxy(request, url, env, ctx) {
  let upstream;
  try {
    upstream = await fetch(originRequest(request, url, env));
  } catch (e) {
    return originFailed(url, e);
  }
  const maxBytes = setting(env, "MAX_HTML_BYTES", 2 * 1024 * 1024, 0, 64 * 1024 * 1024);
  if (env.EW_MODE === "passthrough" || request.method !== "GET" || !personalizable(upstream, maxBytes)) {
    return upstream;
  }
  let bytes;
  try {
    bytes = new Uint8Array(await upstream.arrayBuffer());
  } catch (e) {
    return originFailed(url, e);
  }
  const untouched = () => new Response(bytes, upstream);
  if (bytes.length > maxBytes) return untouched();
  try {
    return (await personalize(request, url, env, ctx, upstream, bytes)) || untouched();
  } catch (e) {
    console.error(`edgewise: serving ${url.pathname} as the origin sent it: ${reason(e)}`);
    return untouched();
  }
}

// ── endpoints ─────────────────────────────────────────────────────────────────────────────────

const REWARD_STATUS = {
  unknown_decision: 404,
  already_rewarded: 409,
  reward_window_closed: 410,
  invalid_reward: 400,
};

async function readBody(request, limit) {
  if (Number(request.headers.get("content-length") || 0) > limit) throw new Error("body too large");
  const text = await request.text();
  if (text.length > limit) throw new Error("body too large");
  return text;
}

/** `{decision_id, value}` as JSON (or `text/plain` JSON from sendBeacon), or form fields. */
function parseReward(text, contentType) {
  let o;
  if (/application\/x-www-form-urlencoded/i.test(contentType || "")) {
    const f = new URLSearchParams(text);
    o = { decision_id: f.get("decision_id"), value: f.has("value") ? Number(f.get("value")) : undefined };
  } else {
    o = JSON.parse(text);
  }
  if (!o || typeof o.decision_id !== "string" || o.decision_id.length === 0 || o.decision_id.length > 64) {
    throw new Error("decision_id must be a string of 1-64 characters");
  }
  const value = o.value === undefined ? 1 : o.value;
  if (typeof value !== "number" || !Number.isFinite(value)) throw new Error("value must be a number in [0, 1]");
  return { decision_id: o.decision_id, value };
}

async function rewardEndpoint(request, url, env, ctx) {
  if (request.method !== "POST") return json({ ok: false, code: "method_not_allowed" }, 405, { allow: "POST" });
  let input;
  try {
    input = parseReward(await readBody(request, 4096), request.headers.get("content-type"));
  } catch (e) {
    return json({ ok: false, code: "invalid_argument", message: reason(e) }, 400);
  }
  const rt = await getRuntime(env);
  const key = await stateKey(env);
  const cookies = parseCookies(request.headers.get("cookie"));
  const consent = readConsent(cookies, request.headers);
  const hadState = cookies.has(STATE_COOKIE);
  const now = Date.now();
  const noState = (why) =>
    json({ ok: false, code: "no_state", message: `no edge state for this visitor: ${why}` }, 409);
  if (!key) return noState("state cookies are off (STATE_SECRET)");
  if (!hadState) return noState("no ew_state cookie");
  const opened = await openState(key, cookies.get(STATE_COOKIE), now);
  if (opened.status !== "ok") return noState(`the ew_state cookie was ignored (${opened.status})`);
  let engine;
  try {
    engine = Engine.restoreShared(opened.bytes, rt.shared, {});
  } catch (e) {
    return noState(`the ew_state cookie did not restore (${reason(e)})`);
  }
  try {
    applyConsent(engine, consent);
    if (engine.snapshotScope() !== "persistent") {
      return json({ ok: false, code: "no_state", message: "no storage consent: the edge keeps no state" }, 409, {
        "set-cookie": stateCookieHeader(null, 0, url.protocol === "https:"),
      });
    }
    const before = outcomes(engine.measurementCounts(), rt.outcomeKeys);
    try {
      engine.reward(input.decision_id, input.value);
    } catch (e) {
      const code = (e && e.code) || "invalid_argument";
      return json({ ok: false, code, message: reason(e) }, REWARD_STATUS[code] || 400);
    }
    const after = outcomes(engine.measurementCounts(), rt.outcomeKeys);
    const setCookie = await stateCookieFor(engine, key, hadState, env, url, now);
    const pooled = pool(env, ctx, consent, before, after);
    return json({ ok: true, pooled }, 200, setCookie ? { "set-cookie": setCookie } : {});
  } finally {
    engine.free();
  }
}

async function priorsEndpoint(request, env, ctx) {
  if (request.method !== "GET" && request.method !== "HEAD") {
    return json({ ok: false, code: "method_not_allowed" }, 405, { allow: "GET" });
  }
  const ttl = setting(env, "PRIORS_TTL_S", 60, 0, 86400);
  const { priors } = await priorsFor(env, ctx, await getRuntime(env), true);
  return json(priors, 200, { "cache-control": `public, max-age=${ttl}` });
}

async function healthEndpoint(env) {
  try {
    const rt = await getRuntime(env);
    return json({
      ok: true,
      build: wasmBuild(),
      version: wasmVersion(),
      models: rt.modelNames,
      slots: [...rt.slots.keys()],
      state_cookies: Boolean(await stateKey(env)),
      pooling: Boolean(env.PRIORS),
      mode: env.EW_MODE === "passthrough" ? "passthrough" : "personalize",
    });
  } catch (e) {
    return json({ ok: false, error: reason(e) });
  }
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/edgewise/")) {
      try {
        switch (url.pathname) {
          case "/edgewise/reward":
            return await rewardEndpoint(request, url, env, ctx);
          case "/edgewise/priors":
            return await priorsEndpoint(request, env, ctx);
          case "/edgewise/health":
            return await healthEndpoint(env);
        }
      } catch (e) {
        // Our own endpoints answer 200 with ok:false rather than a 5xx: a reward beacon or a
        // priors fetch that fails must not look like an outage (browsers fall back to the
        // config's priors).
        console.error(`edgewise: ${url.pathname} failed: ${reason(e)}`);
        if (url.pathname === "/edgewise/priors") return json({}, 200);
        return json({ ok: false, code: "unavailable", message: reason(e) }, 200);
      }
    }
    return proxy(request, url, env, ctx);
  },
};
