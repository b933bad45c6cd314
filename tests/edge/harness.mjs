// Starts the edge worker on the real workerd runtime for tests: a Node static origin on a free
// loopback port, the worker modules + assets in a temp dir, a generated config.capnp with one
// socket per worker variant, then polls /edgewise/health until every worker answers. stop()
// kills workerd (by its pid) and closes the origin.
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import crypto from "node:crypto";
import zlib from "node:zlib";
import { buildModules, buildAssets, writeCapnp, WORKERD, ROOT } from "../../scripts/edge-build.mjs";
import { startOrigin } from "../../scripts/edge-origin.mjs";
import { decodeSnapshot } from "../common/snapshot.mjs";

export { ROOT };
export const SECRET = "test-secret-" + "0123456789abcdef".repeat(3);
export const ORIGIN_ROOT = path.join(ROOT, "www/edge/origin");
export const CONFIG = JSON.parse(fs.readFileSync(path.join(ROOT, "www/edge/config.json"), "utf8"));
export const FULL = "ew_consent=storage.personalization.measurement";
export const MOBILE_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148";
export const DESKTOP_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36";

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * workers: [{name, mode?, vars?, secret? (default SECRET; null = none), priors?, mutateAssets?(dir)}]
 * origin: {routes?} for startOrigin. Returns {origin, url(name), logs(), stop(), pid}.
 */
export async function startEdge({ workers, routes = {}, startupTimeoutMs = 120_000 }) {
  const origin = await startOrigin({ root: ORIGIN_ROOT, routes });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgewise-edge-"));
  buildModules(dir);
  const specs = [];
  for (const w of workers) {
    const assets = buildAssets(path.join(dir, `assets-${w.name}`));
    if (w.mutateAssets) w.mutateAssets(assets);
    specs.push({
      name: w.name,
      port: await freePort(),
      origin: origin.url,
      secret: w.secret === undefined ? SECRET : w.secret,
      mode: w.mode,
      vars: w.vars,
      priors: w.priors,
      assets,
    });
  }
  const capnp = writeCapnp(dir, specs);
  let out = "";
  const child = spawn(WORKERD, ["serve", capnp], { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  let exited = null;
  child.on("exit", (code, signal) => (exited = { code, signal }));
  const urls = Object.fromEntries(specs.map((s) => [s.name, `http://127.0.0.1:${s.port}`]));
  const stop = async () => {
    if (!exited) {
      child.kill("SIGTERM");
      for (let i = 0; i < 50 && !exited; i++) await sleep(100);
      if (!exited) child.kill("SIGKILL");
    }
    await origin.close();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  // Generous startup polling: 2 busy cores, a 900 KB wasm module compiled per worker.
  const deadline = Date.now() + startupTimeoutMs;
  for (const s of specs) {
    for (;;) {
      if (exited) {
        await stop();
        throw new Error(`workerd exited (${JSON.stringify(exited)}) during startup:\n${out}`);
      }
      try {
        const r = await fetch(`${urls[s.name]}/edgewise/health`);
        await r.arrayBuffer();
        if (r.status === 200) break;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`workerd did not answer on ${urls[s.name]} within ${startupTimeoutMs} ms:\n${out}`);
      }
      await sleep(200);
    }
  }
  return { origin, urls, url: (name) => urls[name], logs: () => out, stop, pid: child.pid, dir };
}

/** GET/POST through the worker; returns {status, headers, body (Buffer), text, setCookies, state}. */
export async function request(url, { cookie, headers = {}, method = "GET", body } = {}) {
  const h = { ...headers };
  if (cookie) h.cookie = cookie;
  const res = await fetch(url, { method, headers: h, body, redirect: "manual" });
  const buf = Buffer.from(await res.arrayBuffer());
  const setCookies = res.headers.getSetCookie();
  const stateHeader = setCookies.find((c) => c.startsWith("ew_state="));
  const state = stateHeader ? stateHeader.slice("ew_state=".length, stateHeader.indexOf(";")) : undefined;
  return { status: res.status, headers: res.headers, body: buf, text: buf.toString("utf8"), setCookies, stateHeader, state };
}

/** The slot elements of a page: [{slot, decision, variant, tag, attrs, inner}]. */
export function slotsOf(html) {
  const out = [];
  const re = /<([a-z0-9]+)\b([^>]*\bdata-ew-slot="([^"]*)"[^>]*)>/gi;
  let m;
  while ((m = re.exec(html))) {
    const attrs = {};
    for (const a of m[2].matchAll(/([a-z-]+)="([^"]*)"/gi)) attrs[a[1]] = a[2];
    const close = html.indexOf(`</${m[1]}>`, re.lastIndex);
    out.push({
      slot: m[3],
      tag: m[1],
      attrs,
      decision: attrs["data-ew-decision"],
      variant: attrs["data-ew-variant"],
      inner: html.slice(re.lastIndex, close),
    });
  }
  return out;
}

export function fieldText(inner, field) {
  const m = new RegExp(`data-ew-field="${field}"[^>]*>([^<]*)<`).exec(inner);
  return m ? m[1] : undefined;
}

export function variantOf(slot, variant) {
  return CONFIG.slots.find((s) => s.id === slot).variants.find((v) => v.id === variant);
}

/** HTML text escaping as the rewriter does it for text content. */
export function escapeText(s) {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

// ── the state cookie, read the way the worker writes it (tests know the secret) ───────────────

function b64url(buf) {
  return Buffer.from(buf).toString("base64url");
}

/** Verifies and decodes an ew_state value → `{expires, bytes, version, state}` (or throws). */
export function decodeState(value, secret = SECRET) {
  const parts = value.split(".");
  if (parts.length !== 4 || !["v1", "v2"].includes(parts[0])) throw new Error("not a state cookie");
  const body = parts.slice(0, 3).join(".");
  const mac = crypto.createHmac("sha256", secret).update(body).digest();
  if (!crypto.timingSafeEqual(mac, Buffer.from(parts[3], "base64url"))) throw new Error("bad MAC");
  const snapshot = snapshotBytes(value);
  const { version, state } = decodeSnapshot(snapshot);
  return { expires: parseInt(parts[1], 36), bytes: snapshot.length, version, state };
}

/** Raw DEFLATE with the fixed Huffman code only: what the previous worker wrote in v1 cookies. */
export function deflateFixed(bytes) {
  return zlib.deflateRawSync(bytes, { strategy: zlib.constants.Z_FIXED });
}

/**
 * Signs arbitrary bytes as a state cookie (for expired / not-a-snapshot cases): `v2` as the
 * worker writes it, or `v1` as the previous worker did (DEFLATE with the fixed Huffman code).
 */
export function sealRaw(bytes, expiresMs, secret = SECRET, version = "v2") {
  const packed = version === "v1" ? deflateFixed(bytes) : bytes;
  const body = `${version}.${Math.floor(expiresMs).toString(36)}.${b64url(packed)}`;
  return `${body}.${b64url(crypto.createHmac("sha256", secret).update(body).digest())}`;
}

/** The snapshot bytes inside a (valid) state cookie. */
export function snapshotBytes(value) {
  const [version, , payload] = value.split(".");
  const bytes = Buffer.from(payload, "base64url");
  return version === "v1" ? zlib.inflateRawSync(bytes) : bytes;
}

/** Per slot/variant [shown, reward] from a decoded state: what this visitor's engine recorded. */
export function outcomesOf(state) {
  const out = {};
  for (const s of state.slots) {
    s.variants.forEach((v, i) => {
      const [shown, reward] = s.outcomes[i] || [0, 0];
      if (shown || reward) (out[s.id] ??= {})[v] = { trials: shown, reward };
    });
  }
  return out;
}

export function addTotals(a, b) {
  const out = structuredClone(a);
  for (const [slot, vs] of Object.entries(b)) {
    for (const [v, { trials, reward }] of Object.entries(vs)) {
      const cur = ((out[slot] ??= {})[v] ??= { trials: 0, reward: 0 });
      cur.trials += trials;
      cur.reward += reward;
    }
  }
  return out;
}

/** Polls `fn` until it returns a truthy value; throws with the last value after `timeoutMs`. */
export async function eventually(fn, { timeoutMs = 20_000, everyMs = 100, what = "condition" } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}
