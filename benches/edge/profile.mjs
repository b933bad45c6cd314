#!/usr/bin/env node
// Where a returning visitor's request spends the worker's CPU, from inside workerd (not a test):
// a CPU profile of the isolate over a few seconds of load, through workerd's inspector. The
// worker runs as shipped except that its wasm keeps its function names (the `full` variant
// rebuilt with `wasm-bindgen --keep-debug`; the shipped module has them stripped), so wasm
// frames are named too.
//
//   node benches/edge/profile.mjs [--duration 6] [--interval-us 50]
//
// Prints the inclusive share of the isolate's busy time (idle excluded) for the worker's steps
// and the biggest self-time functions, and writes target/edge-profile.cpuprofile (open it in
// Chrome DevTools → Performance, or any .cpuprofile viewer). Native work outside the isolate
// (HTMLRewriter's parser, the HTTP stack) is not sampled; the CPU-per-request numbers of
// benches/edge/bench.mjs include it.
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import { buildModules, buildAssets, writeCapnp, WORKERD, ROOT, randomSecret } from "../../scripts/edge-build.mjs";
import { startOrigin } from "../../scripts/edge-origin.mjs";
import { freePort } from "../../tests/edge/harness.mjs";
import { returningCookie, returningState, waitFor } from "./common.mjs";

// Node 20 has WebSocket behind a flag: run again with it.
if (typeof WebSocket === "undefined") {
  const r = spawn(process.execPath, ["--experimental-websocket", ...process.argv.slice(1)], { stdio: "inherit" });
  r.on("exit", (code) => process.exit(code ?? 1));
} else {
  await main();
}

async function main() {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : dflt;
  };
  const DURATION = Number(arg("--duration", 6));
  const INTERVAL = Number(arg("--interval-us", 50));

  // The full variant with names: the same cargo build as `make wasm` (wasm-pack.toml's `full`).
  const pkg = path.join(ROOT, "target/edge-profile/pkg");
  fs.rmSync(pkg, { recursive: true, force: true });
  const run = (cmd, args) => execFileSync(cmd, args, { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
  run("cargo", ["rustc", "--lib", "--crate-type", "cdylib", "--profile", "wasm-s", "--target", "wasm32-unknown-unknown", "--no-default-features", "--features", "onnx,sim"]);
  run("wasm-bindgen", ["--target", "web", "--keep-debug", "--out-dir", pkg, "--out-name", "edgewise", path.join(ROOT, "target/wasm32-unknown-unknown/wasm-s/edgewise.wasm")]);

  const origin = await startOrigin({ port: 0 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgewise-profile-"));
  let child = null;
  try {
    buildModules(dir);
    // The same glue and snippets as pkg/web (same sources), with the names kept in the wasm.
    for (const f of ["edgewise.js", "edgewise_bg.wasm"]) fs.copyFileSync(path.join(pkg, f), path.join(dir, f));
    const assets = buildAssets(path.join(dir, "assets"));
    const port = await freePort();
    const inspector = await freePort();
    writeCapnp(dir, [{ name: "p", port, origin: origin.url, secret: randomSecret(), assets }]);
    child = spawn(WORKERD, ["serve", "--inspector-addr", `127.0.0.1:${inspector}`, path.join(dir, "config.capnp")], {
      stdio: ["ignore", "ignore", "inherit"],
    });
    const url = `http://127.0.0.1:${port}/`;
    await waitFor(url + "edgewise/health", child, "workerd");
    // A returning visitor: the state cookie of 10 earlier pages.
    const state = await returningState(url);
    if (!state) throw new Error("the worker set no state cookie in 10 page views");
    const headers = { cookie: returningCookie(state) };
    const load = (duration) =>
      new Promise((resolve, reject) => autocannon({ url, headers, duration, connections: 4 }, (e, r) => (e ? reject(e) : resolve(r))));
    await load(2); // warm-up: the JIT settles

    const targets = await (await fetch(`http://127.0.0.1:${inspector}/json/list`)).json();
    const target = targets.find((t) => t.webSocketDebuggerUrl);
    if (!target) throw new Error("workerd's inspector lists no target");
    const ws = new WebSocket(target.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      ws.addEventListener("open", resolve);
      ws.addEventListener("error", reject);
    });
    let id = 0;
    const waiting = new Map();
    ws.addEventListener("message", (m) => {
      const d = JSON.parse(m.data);
      if (d.id && waiting.has(d.id)) {
        waiting.get(d.id)(d);
        waiting.delete(d.id);
      }
    });
    const send = (method, params = {}) =>
      new Promise((resolve, reject) => {
        const i = ++id;
        waiting.set(i, (d) => (d.error ? reject(new Error(`${method}: ${d.error.message}`)) : resolve(d.result)));
        ws.send(JSON.stringify({ id: i, method, params }));
      });
    await send("Profiler.enable");
    await send("Profiler.setSamplingInterval", { interval: INTERVAL });
    await send("Profiler.start");
    const res = await load(DURATION);
    const { profile } = await send("Profiler.stop");
    ws.close();
    if (res.errors || res.non2xx) throw new Error(`${res.errors} errors, ${res.non2xx} non-2xx under load`);
    const out = path.join(ROOT, "target/edge-profile.cpuprofile");
    fs.writeFileSync(out, JSON.stringify(profile));
    report(profile, res.requests.total, out);
  } finally {
    child?.kill("SIGTERM");
    await origin.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function report(p, requests, file) {
  const self = new Map();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const name = (n) => {
    const f = n.callFrame;
    const fn = f.functionName.replace(/::h[0-9a-f]{16}$/, "") || "(anonymous)";
    const file = f.url.split("/").pop();
    return file && !file.startsWith("edgewise.wasm") ? `${fn} (${file})` : fn;
  };
  let busy = 0;
  const inclusive = new Map();
  const selfBy = new Map();
  for (const n of p.nodes) {
    const t = self.get(n.id) ?? 0;
    if (!t || n.callFrame.functionName === "(idle)") continue;
    busy += t;
    selfBy.set(name(n), (selfBy.get(name(n)) ?? 0) + t);
    const seen = new Set();
    for (let x = n.id; x != null; x = parent.get(x)) {
      const k = name(byId.get(x));
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + t);
    }
  }
  const perReq = (t) => `${((t / requests) | 0).toString().padStart(5)} µs/req`;
  const pct = (t) => `${((100 * t) / busy).toFixed(1).padStart(5)}%`;
  console.log(`\nworkerd isolate CPU, returning visitor, GET /: ${requests} requests, ${(busy / 1000).toFixed(0)} ms busy = ${(busy / requests).toFixed(0)} µs per request (sampled; native work outside the isolate not included)\n`);
  console.log("The worker's steps (inclusive):");
  const steps = [
    ["personalize (worker.js)", "the personalizing request path"],
    ["visitorEngine (worker.js)", "open the cookie + restore + consent"],
    ["openState (state.js)", "  HMAC verify + base64 (+ INFLATE of a v1 cookie)"],
    ["inflateRaw (inflate.js)", "    INFLATE (v1 cookies only)"],
    ["restoreShared (edgewise.js)", "  Engine.restoreShared (snapshot → engine)"],
    ["edgewise::compact::from_slice", "    decoding the snapshot (format 2)"],
    ["serde_json::de::from_slice", "    decoding the snapshot (format 1, JSON)"],
    ["edgewise::decision::Engine::with", "    a new engine from the Shared (prepared) config and models"],
    ["rewriteHtml (rewrite.js)", "HTMLRewriter pass (its JS handlers; the parser is native)"],
    ["decide (edgewise.js)", "  Engine.decide ×3"],
    ["<edgewise::bandit::thompson::Thompson as edgewise::bandit::Policy>::distribution_into", "    Thompson's sampled distribution"],
    ["measurementCounts (edgewise.js)", "measurementCounts ×2"],
    ["stateCookieFor (worker.js)", "snapshot + seal the cookie"],
    ["snapshot (edgewise.js)", "  Engine.snapshot (engine → bytes)"],
    ["edgewise::compact::to_vec", "    encoding the snapshot (format 2)"],
    ["sealState (state.js)", "  base64 + HMAC sign"],
    ["free (edgewise.js)", "Engine.free"],
    ["proxy (worker.js)", "everything of the request in the isolate"],
  ];
  for (const [k, what] of steps) {
    const t = inclusive.get(k);
    if (t) console.log(`  ${pct(t)} ${perReq(t)}  ${what}`);
  }
  console.log("\nSelf time, top 20:");
  for (const [k, t] of [...selfBy].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`  ${pct(t)} ${perReq(t)}  ${k.slice(0, 120)}`);
  console.log(`\n(profile written to ${path.relative(ROOT, file)})`);
}
