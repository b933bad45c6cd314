#!/usr/bin/env node
// Benchmark (not a test): the personalizing edge worker vs the same worker passing HTML through
// untouched (EW_MODE=passthrough), side by side in one run on this machine, real workerd.
//
//   node benches/edge/bench.mjs [--duration 10] [--connections 8] [--rounds 2] [--json out.json]
//
// Processes: the static origin (Node, its own process), one workerd per mode (each its own
// process, so its CPU time is its own: utime+stime from /proc/<pid>/stat over the run divided
// by the requests served), autocannon in this process. Modes run one after the other (never at
// once: 2 cores), alternating P T P T… so drift hits both; the medians over rounds are reported.
//
// Scenarios (all GET / of www/edge/origin/index.html, three slots):
//   returning  full consent + a state cookie from 10 earlier page views: restore, consent,
//              context, track, 3 decisions, rewrite, snapshot, deflate, HMAC, pool to the DO
//   new        full consent, no state cookie: the same from a fresh engine
//   context    `ew_consent=personalization` (no storage): a fresh engine deciding from the
//              request alone, rewrite, no cookie, nothing pooled
//   anonymous  no consent cookie: the engine allows nothing (asked once per isolate), so the
//              origin's page is buffered, scanned and sent as it is (plus `Vary: Cookie`)
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import { buildModules, buildAssets, writeCapnp, WORKERD, ROOT, randomSecret } from "../../scripts/edge-build.mjs";
import { freePort } from "../../tests/edge/harness.mjs";
import { FULL, returningCookie, returningState, sleep, waitFor } from "./common.mjs";

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const DURATION = Number(arg("--duration", 10));
const CONNECTIONS = Number(arg("--connections", 8));
const ROUNDS = Number(arg("--rounds", 2));
const LAT_DURATION = Number(arg("--latency-duration", 5));
const JSON_OUT = arg("--json", path.join(ROOT, "target/edge-bench.json"));
const CLK_TCK = 100; // getconf CLK_TCK on Linux

function cpuTicks(pid) {
  // /proc/<pid>/stat: fields 14 and 15 (utime, stime) after the ")" that ends the command name.
  const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}


function start(cmd, args, what) {
  const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr.on("data", (d) => (err = (err + d).slice(-4000)));
  child.logs = () => err;
  child.what = what;
  return child;
}

function run(opts) {
  return new Promise((resolve, reject) => {
    autocannon(opts, (e, r) => (e ? reject(e) : resolve(r)));
  });
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgewise-bench-"));
const children = [];
const cleanup = () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
  fs.rmSync(dir, { recursive: true, force: true });
};
process.on("SIGINT", () => {
  cleanup();
  process.exit(130);
});

try {
  const originPort = await freePort();
  const origin = start(process.execPath, [path.join(ROOT, "scripts/edge-origin.mjs"), "--port", String(originPort)], "origin");
  children.push(origin);
  const originUrl = `http://127.0.0.1:${originPort}`;
  await waitFor(originUrl + "/", origin, "origin");

  buildModules(dir);
  const assets = buildAssets(path.join(dir, "assets"));
  const secret = randomSecret();
  const workers = {};
  for (const mode of ["personalize", "passthrough"]) {
    const sub = path.join(dir, mode);
    fs.mkdirSync(sub);
    for (const f of fs.readdirSync(dir)) if (/\.(js|wasm)$/.test(f)) fs.copyFileSync(path.join(dir, f), path.join(sub, f));
    // wasm-bindgen's JS snippets (edgewise.js imports them from snippets/<crate>-<hash>/).
    if (fs.existsSync(path.join(dir, "snippets"))) fs.cpSync(path.join(dir, "snippets"), path.join(sub, "snippets"), { recursive: true });
    const port = await freePort();
    const capnp = writeCapnp(sub, [{ name: mode, port, origin: originUrl, secret, assets, mode }]);
    const child = start(WORKERD, ["serve", capnp], `workerd (${mode})`);
    children.push(child);
    workers[mode] = { url: `http://127.0.0.1:${port}`, child };
    await waitFor(workers[mode].url + "/edgewise/health", child, child.what);
  }

  // A returning visitor's cookie after 10 page views.
  const state = await returningState(workers.personalize.url + "/");
  if (!state) throw new Error("the personalizing worker set no state cookie in 10 page views");
  const scenarios = {
    returning: { cookie: returningCookie(state) },
    new: { cookie: FULL },
    context: { cookie: "ew_consent=personalization" },
    anonymous: {},
  };
  const check = await fetch(workers.personalize.url + "/", { headers: scenarios.returning });
  const checkText = await check.text();
  if (!checkText.includes("data-ew-decision")) throw new Error("the personalizing worker did not personalize");
  const cookieBytes = check.headers.getSetCookie()[0].length;

  const measure = async (mode, headers, duration, connections) => {
    const w = workers[mode];
    const t0 = cpuTicks(w.child.pid);
    const r = await run({ url: w.url + "/", headers, duration, connections });
    const t1 = cpuTicks(w.child.pid);
    const n = r.requests.total;
    if (r.errors || r.non2xx || r.timeouts) throw new Error(`${mode}: ${r.errors} errors, ${r.non2xx} non-2xx, ${r.timeouts} timeouts`);
    return {
      rps: n / duration,
      p50: r.latency.p50,
      p99: r.latency.p99,
      cpu_us_per_req: ((t1 - t0) / CLK_TCK / n) * 1e6,
      requests: n,
    };
  };
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const summarize = (runs) => Object.fromEntries(["rps", "p50", "p99", "cpu_us_per_req"].map((k) => [k, median(runs.map((r) => r[k]))]));

  // Warm both isolates (JIT, wasm tier-up, the priors cache).
  for (const mode of ["personalize", "passthrough"]) await measure(mode, scenarios.returning, 2, CONNECTIONS);

  const results = {};
  for (const [name, headers] of Object.entries(scenarios)) {
    const runs = { personalize: [], passthrough: [] };
    const lat = { personalize: [], passthrough: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of round % 2 ? ["passthrough", "personalize"] : ["personalize", "passthrough"]) {
        runs[mode].push(await measure(mode, headers, DURATION, CONNECTIONS));
        lat[mode].push(await measure(mode, headers, LAT_DURATION, 1));
      }
    }
    const p = summarize(runs.personalize);
    const t = summarize(runs.passthrough);
    const pl = summarize(lat.personalize);
    const tl = summarize(lat.passthrough);
    results[name] = {
      throughput: { personalize: p, passthrough: t, ratio: p.rps / t.rps },
      latency_c1: { personalize: pl, passthrough: tl },
      added_cpu_us_per_req: p.cpu_us_per_req - t.cpu_us_per_req,
      added_p99_ms_c1: pl.p99 - tl.p99,
    };
  }

  const f = (x, d = 0) => x.toFixed(d);
  console.log(`\nedge worker benchmark — ${os.cpus().length} cores (${os.cpus()[0].model}), workerd ${
    JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules/workerd/package.json"), "utf8")).version
  }, node ${process.version}`);
  console.log(`${CONNECTIONS} connections × ${DURATION} s per run (latency: 1 connection × ${LAT_DURATION} s), ${ROUNDS} rounds, medians; returning visitor's Set-Cookie: ${cookieBytes} bytes\n`);
  console.log("| scenario | mode | req/s | p50 ms | p99 ms | p50 ms (c=1) | p99 ms (c=1) | workerd CPU µs/req |");
  console.log("|---|---|---|---|---|---|---|---|");
  for (const [name, r] of Object.entries(results)) {
    for (const mode of ["personalize", "passthrough"]) {
      const x = r.throughput[mode];
      const l = r.latency_c1[mode];
      console.log(`| ${name} | ${mode} | ${f(x.rps)} | ${x.p50} | ${x.p99} | ${l.p50} | ${l.p99} | ${f(x.cpu_us_per_req)} |`);
    }
  }
  console.log("\n| scenario | throughput personalize ÷ passthrough | added CPU per request | added p99 at c=1 |");
  console.log("|---|---|---|---|");
  for (const [name, r] of Object.entries(results)) {
    console.log(`| ${name} | ${f(r.throughput.ratio, 3)} (${f((1 - r.throughput.ratio) * 100, 1)}% fewer req/s) | ${f(r.added_cpu_us_per_req)} µs | ${f(r.added_p99_ms_c1, 2)} ms |`);
  }
  fs.mkdirSync(path.dirname(JSON_OUT), { recursive: true });
  fs.writeFileSync(
    JSON_OUT,
    JSON.stringify({ date: new Date().toISOString(), duration_s: DURATION, connections: CONNECTIONS, rounds: ROUNDS, cookie_bytes: cookieBytes, results }, null, 2),
  );
  console.log(`\n(written to ${path.relative(process.cwd(), JSON_OUT)})`);
} catch (e) {
  console.error(e);
  for (const c of children) if (c.logs()) console.error(`--- ${c.what}:\n${c.logs()}`);
  process.exitCode = 1;
} finally {
  cleanup();
}
