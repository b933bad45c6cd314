#!/usr/bin/env node
// A bounded mutation fuzzer for the edge worker's state cookie (www/edge/src/state.js) and the
// raw DEFLATE inflater it keeps for the previous worker's `v1.` cookies (www/edge/src/inflate.js). Not coverage guided: @jazzer.js/core 4.0.0
// installs, but its prebuilt native addon needs glibc 2.38 (Debian 12 has 2.36) and older
// releases build libFuzzer from source with cmake and a download from GitHub, which this
// machine cannot reach (docs/fuzzing.md). So: seeded random mutations (bit flips, truncation,
// splices, base64url garbage, re-signed payloads) of valid seeds, with a pool that keeps every
// input whose outcome (status or error message) was new.
//
//   node fuzz/js/state-cookie.mjs --target cookie|inflate [--seconds 60] [--seed 1]
//        [--json FILE] [--replay FILE...]
//
// Targets and what they assert:
//   cookie   openState(key, value, now) on mutated `ew_state` values. It never throws; its
//            status is one of the documented five; it never returns bytes unless the value's
//            HMAC-SHA-256 verifies (checked independently with node:crypto over the exact
//            body) and the expiry is in the future; the bytes are at most 64 KiB. Half of the
//            inputs mutate the payload (a snapshot for `v2.`, DEFLATE for `v1.`) and re-sign
//            it with the test secret, so what lies behind the MAC is reached too.
//   inflate  inflateRaw(bytes, limit) on mutated raw DEFLATE streams. It returns at most
//            `limit` bytes or throws one of its documented Errors (nothing else: no RangeError,
//            no TypeError); when it returns, zlib (node:zlib inflateRawSync) returns the same
//            bytes; every input takes under 1 s. zlib's fixed-Huffman DEFLATE of random x
//            (what the previous worker's encoder wrote) inflates back to x.
// Failing inputs are written to fuzz/artifacts/js_<target>/ (the cookie target writes the cookie
// value as text). Exit status 1 when anything failed. The Rust side of a cookie (the bytes
// `restore` receives) is the `snapshot` cargo-fuzz target.

import { createHmac, timingSafeEqual, createHash } from "node:crypto";
import { inflateRawSync, deflateRawSync, constants as zlibConstants } from "node:zlib";
import { mkdirSync, readdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { importStateKey, openState, sealState } from "../../www/edge/src/state.js";
import { inflateRaw } from "../../www/edge/src/inflate.js";

/** DEFLATE with the fixed Huffman code only, as the previous worker's encoder wrote it. */
const deflateRaw = (data) => new Uint8Array(deflateRawSync(data, { strategy: zlibConstants.Z_FIXED }));

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const SECRET = "fuzz-test-secret-0123456789abcdef-0123456789";
const NOW = 1_700_000_000_000;
const STATUSES = new Set(["ok", "malformed", "bad_signature", "expired", "corrupt"]);
const MAX_STATE_BYTES = 64 * 1024;
const INFLATE_ERRORS = new Set([
  "inflated data over the limit",
  "deflate stream truncated",
  "bad stored block",
  "bad length code",
  "bad distance code",
  "distance before the start",
  "unsupported deflate block type",
]);
const SLOW_MS = 1000;

// ── arguments ──────────────────────────────────────────────────────────────────────────────
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const target = opt("target", "cookie");
const seconds = Number(opt("seconds", "60"));
const seed = Number(opt("seed", "1")) >>> 0 || 1;
const jsonOut = opt("json", null);
const replayAt = args.indexOf("--replay");
const replay = replayAt >= 0 ? args.slice(replayAt + 1) : null;
if (!["cookie", "inflate"].includes(target) || !(seconds >= 0)) {
  console.error("usage: state-cookie.mjs --target cookie|inflate [--seconds N] [--seed N] [--json FILE] [--replay FILE...]");
  process.exit(2);
}

// ── randomness (xorshift32, seeded: a run is reproducible) ─────────────────────────────────
let rs = seed;
const rnd = () => {
  rs ^= rs << 13;
  rs >>>= 0;
  rs ^= rs >>> 17;
  rs ^= rs << 5;
  rs >>>= 0;
  return rs / 4294967296;
};
const ri = (n) => Math.floor(rnd() * n);
const pick = (a) => a[ri(a.length)];

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const GARBAGE = [".", "=", "+", "/", " ", "%", "\0", "é", "\u{1F600}", "v1", "v2", "..", "A", "_", "-", "z"];

/** Concatenation of byte arrays (cheaper than spreading them). */
function cat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function mutateBytes(src, pool) {
  let b = Uint8Array.from(src);
  const rounds = 1 + ri(4);
  for (let r = 0; r < rounds; r++) {
    switch (ri(8)) {
      case 0: // bit flip
        if (b.length) b[ri(b.length)] ^= 1 << ri(8);
        break;
      case 1: // random byte
        if (b.length) b[ri(b.length)] = ri(256);
        break;
      case 2: // truncate
        b = b.slice(0, ri(b.length + 1));
        break;
      case 3: { // insert random bytes
        const at = ri(b.length + 1);
        const ins = Uint8Array.from({ length: 1 + ri(8) }, () => ri(256));
        b = cat(b.subarray(0, at), ins, b.subarray(at));
        break;
      }
      case 4: { // delete a range
        const at = ri(b.length + 1);
        b = cat(b.subarray(0, at), b.subarray(at + 1 + ri(16)));
        break;
      }
      case 5: { // splice with another input
        const o = pick(pool);
        const a = ri(b.length + 1);
        const c = ri(o.length + 1);
        b = cat(b.subarray(0, a), o.subarray(c));
        break;
      }
      case 6: { // duplicate a range
        if (!b.length) break;
        const a = ri(b.length);
        const len = 1 + ri(Math.min(64, b.length - a));
        const at = ri(b.length + 1);
        b = cat(b.subarray(0, at), b.subarray(a, a + len), b.subarray(at));
        break;
      }
      default: // interesting byte
        if (b.length) b[ri(b.length)] = pick([0, 1, 0x7f, 0x80, 0xff, 0xfe, 0x03, 0x02]);
    }
  }
  return b;
}

function mutateText(src, pool) {
  let s = src;
  const rounds = 1 + ri(3);
  for (let r = 0; r < rounds; r++) {
    const at = ri(s.length + 1);
    switch (ri(9)) {
      case 0: // replace a char with a base64url char
        s = s.slice(0, at) + pick(B64URL) + s.slice(at + 1);
        break;
      case 1: // flip a bit of a char
        if (s.length) s = s.slice(0, at) + String.fromCharCode(s.charCodeAt(Math.min(at, s.length - 1)) ^ (1 << ri(7))) + s.slice(at + 1);
        break;
      case 2: // truncate
        s = s.slice(0, at);
        break;
      case 3: // garbage
        s = s.slice(0, at) + pick(GARBAGE) + s.slice(at);
        break;
      case 4: { // splice dot-separated parts of two cookies
        const a = s.split(".");
        const b = pick(pool).split(".");
        const i = ri(4);
        if (i < a.length && i < b.length) a[i] = b[i];
        s = a.join(".");
        break;
      }
      case 5: { // drop or repeat a part
        const a = s.split(".");
        const i = ri(a.length);
        if (ri(2)) a.splice(i, 1);
        else a.splice(i, 0, a[i]);
        s = a.join(".");
        break;
      }
      case 6: // change the expiry
        s = s.replace(/^(v[12])\.[^.]*/, (_, v) => `${v}.${pick(["0", "zzzzzzzzzzzz", "-1", "1e9", "", (NOW + 1).toString(36), "Infinity", "ZZ", "0000000000000"])}`);
        break;
      case 7: // long garbage
        s = s.slice(0, at) + pick(B64URL).repeat(1 + ri(5000)) + s.slice(at);
        break;
      default: // base64 padding / std alphabet
        s = s.slice(0, at) + pick(["=", "==", "+", "/", "%3D"]) + s.slice(at);
    }
  }
  return s;
}

// ── seeds ──────────────────────────────────────────────────────────────────────────────────
function seedSnapshots() {
  const dir = join(ROOT, "fuzz/seeds/snapshot");
  const out = [];
  if (existsSync(dir)) {
    for (const f of readdirSync(dir).sort()) if (f.endsWith(".bin")) out.push(new Uint8Array(readFileSync(join(dir, f))));
  }
  const enc = new TextEncoder();
  out.push(new Uint8Array(0), enc.encode("EDGEWISE"), enc.encode("{}".repeat(40)), Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 255));
  return out;
}

function deflateSeeds(snapshots) {
  const out = snapshots.map((s) => deflateRaw(s));
  // A stored block, two blocks (stored + fixed), an empty fixed block, a dynamic-block header.
  out.push(Uint8Array.from([0x01, 0x05, 0x00, 0xfa, 0xff, 104, 101, 108, 108, 111]));
  const fixed = deflateRaw(new TextEncoder().encode("hello hello hello"));
  out.push(Uint8Array.from([0x00, 0x02, 0x00, 0xfd, 0xff, 104, 105, ...fixed]));
  out.push(Uint8Array.from([0x03, 0x00]));
  out.push(Uint8Array.from([0x05, 0xc0, 0x81, 0x00, 0x00]));
  return out;
}

// ── checks (a thrown Error is a finding) ──────────────────────────────────────────────────
const fail = (msg) => {
  throw new Error(`FINDING: ${msg}`);
};

function b64urlDecode(text) {
  return /^[A-Za-z0-9_-]*$/.test(text) ? Buffer.from(text, "base64url") : null;
}

/** Does `value` carry a valid HMAC of its first three parts (checked without state.js)? */
function macVerifies(value) {
  const parts = value.split(".");
  if (parts.length !== 4) return false;
  const mac = b64urlDecode(parts[3]);
  if (!mac || mac.length !== 32) return false;
  const want = createHmac("sha256", SECRET).update(`${parts[0]}.${parts[1]}.${parts[2]}`).digest();
  return timingSafeEqual(mac, want);
}

async function checkCookie(key, value) {
  let r;
  try {
    r = await openState(key, value, NOW);
  } catch (e) {
    fail(`openState threw ${e && e.name}: ${e && e.message}`);
  }
  if (!r || !STATUSES.has(r.status)) fail(`undocumented result ${JSON.stringify(r)}`);
  if (r.status === "ok") {
    if (!macVerifies(value)) fail("returned state for a value whose HMAC does not verify");
    const expires = parseInt(value.split(".")[1], 36);
    if (!(expires > NOW)) fail(`returned state for an expired value (expiry ${expires})`);
    if (!(r.bytes instanceof Uint8Array) || r.bytes.length > MAX_STATE_BYTES) fail(`bytes: ${r.bytes && r.bytes.length}`);
  } else if (r.bytes !== undefined) {
    fail(`status ${r.status} with bytes`);
  }
  return r.status;
}

function checkInflate(bytes, limit) {
  let ours = null;
  let err = null;
  const t = performance.now();
  try {
    ours = inflateRaw(bytes, limit);
  } catch (e) {
    err = e;
  }
  const ms = performance.now() - t;
  if (ms > SLOW_MS) fail(`inflateRaw took ${ms.toFixed(0)} ms`);
  if (err) {
    if (!(err instanceof Error) || err.constructor !== Error || !INFLATE_ERRORS.has(err.message)) {
      fail(`inflateRaw threw an undocumented ${err && err.name}: ${err && err.message}`);
    }
    return err.message;
  }
  if (!(ours instanceof Uint8Array) || ours.length > limit) fail(`inflateRaw returned ${ours && ours.length} bytes, limit ${limit}`);
  let ref;
  try {
    ref = inflateRawSync(bytes, { maxOutputLength: Math.max(limit, 1) * 4 + 1024 });
  } catch (e) {
    fail(`inflateRaw accepted a stream zlib refuses (${e.code || e.message})`);
  }
  if (Buffer.compare(Buffer.from(ours), ref) !== 0) fail(`inflateRaw and zlib disagree (${ours.length} vs ${ref.length} bytes)`);
  return "ok";
}

function checkRoundTrip(data) {
  const back = inflateRaw(deflateRaw(data), data.length);
  if (Buffer.compare(Buffer.from(back), Buffer.from(data)) !== 0) fail("zlib's fixed-Huffman DEFLATE → inflateRaw does not round-trip");
}

// ── driver ─────────────────────────────────────────────────────────────────────────────────
const artifacts = join(ROOT, "fuzz/artifacts", `js_${target}`);
const findings = [];
function record(input, e) {
  const data = typeof input === "string" ? Buffer.from(input, "utf8") : Buffer.from(input);
  const name = `crash-${createHash("sha1").update(data).digest("hex")}`;
  if (!findings.some((f) => f.name === name) && findings.length < 50) {
    mkdirSync(artifacts, { recursive: true });
    writeFileSync(join(artifacts, name), data);
    findings.push({ name, message: e.message });
    console.error(`${target}: ${e.message} -> ${join(artifacts, name)}`);
  }
}

const key = await importStateKey(SECRET);
const snapshots = seedSnapshots();
let execs = 0;
const outcomes = new Map();
const t0 = performance.now();
const deadline = t0 + seconds * 1000;
let maxMs = 0;

async function runOne(input, kind) {
  const t = performance.now();
  try {
    let o;
    if (kind === "cookie") o = await checkCookie(key, input);
    else if (kind === "roundtrip") o = (checkRoundTrip(input), "roundtrip");
    else o = checkInflate(input.bytes, input.limit);
    outcomes.set(o, (outcomes.get(o) || 0) + 1);
    return o;
  } catch (e) {
    record(kind === "inflate" ? input.bytes : input, e);
    return null;
  } finally {
    execs++;
    maxMs = Math.max(maxMs, performance.now() - t);
  }
}

if (replay) {
  for (const f of replay) {
    const data = readFileSync(f);
    if (target === "cookie") await runOne(data.toString("utf8"), "cookie");
    else await runOne({ bytes: new Uint8Array(data), limit: MAX_STATE_BYTES }, "inflate");
  }
} else if (target === "cookie") {
  // Valid cookies (the seeds), then mutants; every other mutant re-signs a mutated payload.
  const pool = [];
  for (const s of snapshots) {
    const v = await sealState(key, s, NOW + 3_600_000);
    if ((await runOne(v, "cookie")) !== "ok" && v.length <= 4096) record(v, new Error("FINDING: a freshly sealed cookie does not open"));
    pool.push(v);
  }
  const expired = await sealState(key, snapshots[0], NOW - 1);
  pool.push(expired, "v1.x.y.z", "v2.x.y.z", "");
  for (const s of snapshots) {
    const body = `v1.${(NOW + 3_600_000).toString(36)}.${Buffer.from(deflateRaw(s)).toString("base64url")}`;
    pool.push(`${body}.${createHmac("sha256", SECRET).update(body).digest("base64url")}`);
  }
  const packedPool = snapshots.map((s) => deflateRaw(s));
  const rawPool = [...snapshots];
  const seen = new Set();
  while (performance.now() < deadline) {
    let v;
    if (rnd() < 0.5) {
      v = mutateText(pick(pool), pool);
    } else {
      const v1 = rnd() < 0.5;
      const from = v1 ? packedPool : rawPool;
      const packed = mutateBytes(pick(from), from);
      const expiry = rnd() < 0.9 ? (NOW + 1 + ri(1e9)).toString(36) : pick([NOW.toString(36), "0", "", "-1", "zzzzzzzzzzzzz", "1.5", "ZZ"]);
      const body = `${v1 ? "v1" : "v2"}.${expiry}.${Buffer.from(packed).toString("base64url")}`;
      v = `${body}.${createHmac("sha256", SECRET).update(body).digest("base64url")}`;
      if (rnd() < 0.1) from.push(packed);
    }
    const o = await runOne(v, "cookie");
    const sig = `${o}:${v.split(".").length}:${Math.min(v.length, 5000) >> 9}`;
    if (o && !seen.has(sig) && pool.length < 5000) {
      seen.add(sig);
      pool.push(v);
    }
  }
} else {
  const pool = deflateSeeds(snapshots);
  for (const s of snapshots) await runOne(s, "roundtrip");
  const seen = new Set();
  let n = 0;
  while (performance.now() < deadline) {
    n++;
    if (n % 16 === 0) {
      await runOne(Uint8Array.from({ length: ri(4096) }, () => (rnd() < 0.5 ? ri(256) : 97 + ri(4))), "roundtrip");
      continue;
    }
    const bytes = mutateBytes(pick(pool), pool);
    const limit = pick([MAX_STATE_BYTES, 0, 1, 16, 256, 1024, ri(100000)]);
    const o = await runOne({ bytes, limit }, "inflate");
    if (o && !seen.has(o + bytes.length) && pool.length < 5000) {
      seen.add(o + bytes.length);
      pool.push(bytes);
    }
  }
}

const secs = (performance.now() - t0) / 1000;
const summary = {
  target: `js_${target}`,
  engine: "node mutation fuzzer (not coverage guided)",
  seed,
  seconds: Number(secs.toFixed(1)),
  execs,
  execs_per_s: Math.round(execs / Math.max(secs, 1e-9)),
  crashes: findings.length,
  slowest_ms: Number(maxMs.toFixed(1)),
  outcomes: Object.fromEntries([...outcomes.entries()].sort((a, b) => b[1] - a[1])),
  findings,
};
console.log(JSON.stringify(summary));
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(summary, null, 2) + "\n");
process.exit(findings.length ? 1 : 0);
