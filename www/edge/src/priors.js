// Pooled learning: what consenting visitors teach, summed per slot/variant in a Durable Object,
// served back (capped) as the `prior` every new engine starts from.
//
// Why a Durable Object: each object runs single-threaded, so the read-modify-write of a total
// cannot interleave with another — posts from any number of isolates at once lose nothing
// (Workers KV is last-write-wins per key, and would drop concurrent increments). A visitor's
// contribution is the *delta* of its engine's `measurementCounts()` over one request (new
// exposures, new rewards), so restored state is never counted twice. An isolate sums its
// requests' deltas for POOL_FLUSH_MS (default 1 s) and posts the sum once (the flush runs in
// the first request's waitUntil); PRIOR_SHARDS > 1 spreads posts over several objects (a
// random one per post); reads sum them.

const ID = /^[A-Za-z0-9_-]{1,64}$/;
/** Names that would reach Object.prototype when used as keys of a plain object. */
const RESERVED = new Set(["__proto__", "constructor", "prototype"]);
const isId = (s) => typeof s === "string" && ID.test(s) && !RESERVED.has(s);
const own = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
const MAX_SLOTS = 64;
const MAX_VARIANTS = 64;
/** Largest delta one post may carry per variant (an isolate's batch of one flush interval). */
const MAX_DELTA = 1e6;

function finiteNonNegative(x) {
  return typeof x === "number" && Number.isFinite(x) && x >= 0;
}

/** Each variant's key ("slot\0variant") in the order of the engine's `measurementCounts()`. */
export function outcomeKeys(config) {
  return (config.slots || []).flatMap((s) => (s.variants || []).map((v) => `${s.id}\u0000${v.id}`));
}

/**
 * `measurementCounts()` (a Float64Array of `[shown, reward]` per variant, or undefined when the
 * measurement purpose is refused) → Map("slot\0variant" → [shown, reward]); null when refused
 * or when the counts do not fit `keys` (then nothing is pooled).
 */
export function outcomes(counts, keys) {
  if (!counts || counts.length !== 2 * keys.length) return null;
  const out = new Map();
  for (let i = 0; i < keys.length; i++) out.set(keys[i], [counts[2 * i], counts[2 * i + 1]]);
  return out;
}

/** What this request added: `{slot: {variant: {trials, reward}}}`, or null when nothing. */
export function outcomeDelta(before, after) {
  if (!after) return null;
  let delta = null;
  for (const [key, [shown, reward]] of after) {
    const [s0, r0] = (before && before.get(key)) || [0, 0];
    const trials = Math.max(0, shown - s0);
    const rew = Math.max(0, reward - r0);
    if (trials === 0 && rew === 0) continue;
    const [slot, variant] = key.split("\u0000");
    if (!isId(slot) || !isId(variant)) continue;
    delta ??= {};
    (delta[slot] ??= {})[variant] = { trials, reward: rew };
  }
  return delta;
}

/** Checks a posted delta; returns it cleaned or throws. */
export function validDelta(d) {
  if (!d || typeof d !== "object" || Array.isArray(d)) throw new Error("delta must be an object");
  const slots = Object.entries(d);
  if (slots.length > MAX_SLOTS) throw new Error("too many slots");
  const out = {};
  for (const [slot, vs] of slots) {
    if (!isId(slot) || !vs || typeof vs !== "object") throw new Error(`bad slot ${JSON.stringify(slot)}`);
    const variants = Object.entries(vs);
    if (variants.length > MAX_VARIANTS) throw new Error("too many variants");
    for (const [variant, st] of variants) {
      if (!isId(variant) || !st) throw new Error(`bad variant ${JSON.stringify(variant)}`);
      const { trials, reward } = st;
      if (!finiteNonNegative(trials) || !finiteNonNegative(reward) || trials > MAX_DELTA || reward > MAX_DELTA) {
        throw new Error(`bad counts for ${slot}/${variant}`);
      }
      (out[slot] ??= {})[variant] = { trials, reward };
    }
  }
  return out;
}

/** Adds `delta` into `total` (both `{slot: {variant: {trials, reward}}}`); returns `total`. */
export function addInto(total, delta) {
  for (const [slot, vs] of Object.entries(delta)) {
    if (!isId(slot) || (!own(total, slot) && Object.keys(total).length >= MAX_SLOTS)) continue;
    const t = (total[slot] ??= {});
    for (const [variant, { trials, reward }] of Object.entries(vs)) {
      if (!isId(variant) || (!own(t, variant) && Object.keys(t).length >= MAX_VARIANTS)) continue;
      const cur = (t[variant] ??= { trials: 0, reward: 0 });
      cur.trials += trials;
      cur.reward += reward;
    }
  }
  return total;
}

/**
 * Pooled totals → priors: reward clamped to trials, and at most `maxTrials` pseudo-observations
 * per variant (trials and reward scaled down together, so the mean is kept). The cap stops
 * pooled evidence from freezing exploration: a visitor's own outcomes still move a posterior
 * worth at most `maxTrials` observations.
 */
export function capPriors(totals, maxTrials, config) {
  const known = config ? new Map(config.slots.map((s) => [s.id, new Set(s.variants.map((v) => v.id))])) : null;
  const out = {};
  for (const [slot, vs] of Object.entries(totals || {})) {
    if (!isId(slot) || (known && !known.has(slot))) continue;
    for (const [variant, st] of Object.entries(vs)) {
      if (!isId(variant) || (known && !known.get(slot).has(variant))) continue;
      let trials = Number(st.trials);
      let reward = Math.min(Number(st.reward), trials);
      if (!(trials > 0) || !(reward >= 0)) continue;
      if (trials > maxTrials) {
        reward *= maxTrials / trials;
        trials = maxTrials;
      }
      (out[slot] ??= {})[variant] = { trials: round3(trials), reward: Math.min(round3(reward), round3(trials)) };
    }
  }
  return out;
}

function round3(x) {
  return Math.round(x * 1000) / 1000;
}

/** The engine config with pooled priors merged into each slot's `prior`. */
export function withPriors(config, priors) {
  if (!priors || Object.keys(priors).length === 0) return config;
  return {
    ...config,
    slots: config.slots.map((s) => (own(priors, s.id) ? { ...s, prior: { ...(s.prior || {}), ...priors[s.id] } } : s)),
  };
}

function shards(env) {
  const n = parseInt(env.PRIOR_SHARDS || "1", 10);
  return Number.isFinite(n) && n >= 1 && n <= 64 ? n : 1;
}

function stub(env, i) {
  return env.PRIORS.get(env.PRIORS.idFromName(`priors-shard-${i}`));
}

/** Sends a delta to one shard (Durable Object RPC). */
export async function postDelta(env, delta) {
  const i = Math.floor(Math.random() * shards(env));
  await stub(env, i).add(delta);
}

/** Summed totals of every shard: `{slot: {variant: {trials, reward}}}`. */
export async function readTotals(env) {
  const parts = await Promise.all(Array.from({ length: shards(env) }, (_, i) => stub(env, i).totals()));
  return parts.reduce((acc, t) => addInto(acc, t), {});
}
