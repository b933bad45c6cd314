import { inflateRaw } from "./inflate.js";

// Cookies at the edge: the consent contract (what the site's banner sets) and the signed
// engine state. Nothing here trusts the visitor: a cookie that does not parse, is
// not signed with STATE_SECRET, or has expired is ignored — never an error, never a 5xx.

export const STATE_COOKIE = "ew_state";
export const CONSENT_COOKIE = "ew_consent";
export const TCF_COOKIE = "euconsent-v2";
export const PURPOSES = ["storage", "personalization", "measurement", "profile_sync"];

/** Longest cookie value we read; browsers keep at most ~4096 bytes per cookie anyway. */
const MAX_COOKIE_VALUE = 4096;
/** Longest Set-Cookie value we write (name, value and attributes must fit in 4096 bytes). */
export const MAX_STATE_COOKIE = 3800;
/** Inflated snapshot bytes we accept from a v1 cookie (only MAC-checked bytes are inflated). */
const MAX_STATE_BYTES = 64 * 1024;
/** What we write: the snapshot as it is (format 2 is ~1 KB; DEFLATE would save a third of that
 * for ~20 µs per request each way). */
const STATE_VERSION = "v2";
/** What the previous worker wrote: a DEFLATEd format-1 (JSON) snapshot; still read. */
const STATE_VERSION_DEFLATED = "v1";
/** HMAC-SHA-256 keys shorter than this are refused (no state cookies at all). */
export const MIN_SECRET_LENGTH = 32;

const enc = new TextEncoder();

/** `Cookie` header → Map(name → value). The first occurrence of a name wins. */
export function parseCookies(header) {
  const out = new Map();
  if (!header || header.length > 16384) return out;
  for (const part of header.split(";")) {
    const i = part.indexOf("=");
    if (i <= 0) continue;
    const name = part.slice(0, i).trim();
    if (!name || out.has(name)) continue;
    let value = part.slice(i + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    out.set(name, value);
  }
  return out;
}

/**
 * The consent contract. Three independent sources, each optional:
 *  - `ew_consent=<purposes joined by ".">`, e.g. `storage.personalization.measurement`
 *    (URL-encoded is accepted; "," and " " also separate; unknown words are ignored;
 *    `none` or an empty value = the banner said no to everything). Absent = the banner has not
 *    spoken (the engine config's `consent_default` applies).
 *  - `euconsent-v2=<IAB TCF v2.2 TC string>` → `engine.setTcf()`; an invalid string makes TCF
 *    allow nothing (the engine's rule) and never breaks the response.
 *  - `Sec-GPC: 1` → `engine.setGpc(true)`; also: nothing is pooled from such a request.
 */
export function readConsent(cookies, headers) {
  let host = null;
  if (cookies.has(CONSENT_COOKIE)) {
    let text = cookies.get(CONSENT_COOKIE);
    try {
      text = decodeURIComponent(text);
    } catch {
      /* keep the raw text */
    }
    host = { storage: false, personalization: false, measurement: false, profile_sync: false };
    for (const word of text.toLowerCase().split(/[.,\s|+]+/)) {
      if (PURPOSES.includes(word)) host[word] = true;
    }
  }
  const tcf = cookies.get(TCF_COOKIE) || null;
  const gpc = (headers.get("sec-gpc") || "").trim() === "1";
  return { host, tcf: tcf && tcf.length <= 4096 ? tcf : null, gpc };
}

/** Could this request's consent allow storage? (Cheap pre-check; the engine decides.) */
export function mightStore(consent) {
  return Boolean((consent.host && consent.host.storage) || consent.tcf);
}

/** Applies the request's consent to an engine. Returns the TCF error code, if any. */
export function applyConsent(engine, consent) {
  let tcfError = null;
  if (consent.host) engine.setConsent(consent.host);
  if (consent.tcf) {
    try {
      engine.setTcf(consent.tcf);
    } catch (e) {
      tcfError = (e && e.code) || "consent_invalid_tcf";
    }
  }
  if (consent.gpc) engine.setGpc(true);
  return tcfError;
}

// ── signing ──────────────────────────────────────────────────────────────────────────────

/** An HMAC-SHA-256 CryptoKey from the secret, or null when the secret is missing or short. */
export async function importStateKey(secret) {
  if (typeof secret !== "string" || secret.length < MIN_SECRET_LENGTH) return null;
  return crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
}

function b64url(bytes) {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let s = "";
  for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode.apply(null, u8.subarray(i, i + 0x8000));
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromB64url(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    const s = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

/**
 * `ew_state` value: `v2.<expiry ms, base36>.<the snapshot, base64url>.<HMAC, base64url>`, the
 * HMAC-SHA-256 (key: STATE_SECRET) over everything before the last dot. (The previous worker
 * wrote `v1.` with the snapshot DEFLATEd; `openState` still reads those.)
 */
export async function sealState(key, snapshotBytes, expiresMs) {
  const body = `${STATE_VERSION}.${Math.floor(expiresMs).toString(36)}.${b64url(snapshotBytes)}`;
  const mac = await crypto.subtle.sign("HMAC", key, enc.encode(body));
  return `${body}.${b64url(mac)}`;
}

/**
 * The snapshot bytes of a state cookie, or `{status}` saying why it was ignored:
 * `malformed`, `bad_signature`, `expired`, `corrupt`. The MAC is checked with
 * `crypto.subtle.verify`, which compares in constant time.
 */
export async function openState(key, value, nowMs) {
  if (!key || typeof value !== "string" || value.length === 0 || value.length > MAX_COOKIE_VALUE) {
    return { status: "malformed" };
  }
  const parts = value.split(".");
  if (parts.length !== 4 || (parts[0] !== STATE_VERSION && parts[0] !== STATE_VERSION_DEFLATED)) {
    return { status: "malformed" };
  }
  const mac = fromB64url(parts[3]);
  if (!mac || mac.length !== 32) return { status: "malformed" };
  const body = `${parts[0]}.${parts[1]}.${parts[2]}`;
  const ok = await crypto.subtle.verify("HMAC", key, mac, enc.encode(body));
  if (!ok) return { status: "bad_signature" };
  const expires = parseInt(parts[1], 36);
  if (!/^[0-9a-z]{1,12}$/.test(parts[1]) || !(expires > nowMs)) return { status: "expired" };
  const bytes = fromB64url(parts[2]);
  if (!bytes) return { status: "corrupt" };
  if (parts[0] === STATE_VERSION) return { status: "ok", bytes };
  try {
    return { status: "ok", bytes: inflateRaw(bytes, MAX_STATE_BYTES) };
  } catch {
    return { status: "corrupt" };
  }
}

/** The Set-Cookie header for a state value (or its deletion when `value` is null). */
export function stateCookieHeader(value, maxAgeS, secure) {
  const attrs = ["Path=/", "HttpOnly", "SameSite=Lax"];
  if (secure) attrs.push("Secure");
  if (value === null) return `${STATE_COOKIE}=; Max-Age=0; ${attrs.join("; ")}`;
  return `${STATE_COOKIE}=${value}; Max-Age=${Math.floor(maxAgeS)}; ${attrs.join("; ")}`;
}
