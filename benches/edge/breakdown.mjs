#!/usr/bin/env node
// Where the edge worker's CPU goes (not a test): the worker as shipped, the pass-through mode,
// and copies of it with one piece removed — the models (config without rules, no models), the
// HTMLRewriter pass (the three decisions are still made), the cookie sealing (the snapshot is
// still taken), the pooling. Each variant runs alone in its own workerd; CPU per request =
// utime + stime of that process from /proc over the run ÷ requests; a returning visitor
// (full consent, a state cookie from 10 pages) requests GET /. Medians over --rounds.
//
//   node benches/edge/breakdown.mjs [--duration 8] [--rounds 3]
//
// The variants patch worker.js by exact text; a patch that no longer applies stops the run.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import { buildModules, buildAssets, writeCapnp, WORKERD, randomSecret } from "../../scripts/edge-build.mjs";
import { startOrigin } from "../../scripts/edge-origin.mjs";
import { freePort } from "../../tests/edge/harness.mjs";
import { returningCookie, returningState, sleep, waitFor } from "./common.mjs";

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const DURATION = Number(arg("--duration", 8));
const ROUNDS = Number(arg("--rounds", 3));

const patch = (from, to) => (src) => {
  if (!src.includes(from)) throw new Error(`patch no longer applies: ${from.slice(0, 60)}…`);
  return src.replace(from, to);
};
const VARIANTS = {
  "as shipped": {},
  "pass-through": { mode: "passthrough" },
  "no models": {
    assets(dir) {
      const e = JSON.parse(fs.readFileSync(path.join(dir, "edge.json"), "utf8"));
      e.models = [];
      fs.writeFileSync(path.join(dir, "edge.json"), JSON.stringify(e));
      const c = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"));
      for (const s of c.slots) for (const v of s.variants) delete v.eligibility;
      fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(c));
    },
  },
  "no HTMLRewriter": {
    worker: patch(
      `const r = await rewriteHtml(bytes, upstream.headers.get("content-type"), rt.slots, (slot) =>
        engine.decide(slot, false),
      );`,
      `const r = { errors: [], decisions: new Map([["x", 1]]), body: bytes };
      for (const slot of ["hero-headline", "layout", "offer"]) engine.decide(slot, false);`,
    ),
  },
  "no cookie sealing": {
    worker: patch(
      `setCookie = await stateCookieFor(engine, key, hadState, env, url, now);`,
      `setCookie = null;
    engine.snapshot();`,
    ),
  },
  "no pooling": { worker: patch(`pool(env, ctx, consent, before, after);`, `void [before, after];`) },
};

function cpuTicks(pid) {
  const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}

const origin = await startOrigin({ port: 0 });
const base = fs.mkdtempSync(path.join(os.tmpdir(), "edgewise-breakdown-"));
const results = {};
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, v] of Object.entries(VARIANTS)) {
      const dir = path.join(base, name.replace(/\W+/g, "-"));
      fs.rmSync(dir, { recursive: true, force: true });
      buildModules(dir);
      const assets = buildAssets(path.join(dir, "assets"));
      v.assets?.(assets);
      if (v.worker) fs.writeFileSync(path.join(dir, "worker.js"), v.worker(fs.readFileSync(path.join(dir, "worker.js"), "utf8")));
      const port = await freePort();
      writeCapnp(dir, [{ name: "b", port, origin: origin.url, secret: randomSecret(), assets, mode: v.mode }]);
      const child = spawn(WORKERD, ["serve", path.join(dir, "config.capnp")], { stdio: ["ignore", "ignore", "inherit"] });
      const url = `http://127.0.0.1:${port}/`;
      await waitFor(url + "edgewise/health", child, `workerd (${name})`);
      const headers = { cookie: returningCookie(await returningState(url)) };
      await new Promise((r) => autocannon({ url, headers, duration: 2, connections: 4 }, r));
      const t0 = cpuTicks(child.pid);
      const res = await new Promise((resolve, reject) =>
        autocannon({ url, headers, duration: DURATION, connections: 4 }, (e, r) => (e ? reject(e) : resolve(r))),
      );
      const t1 = cpuTicks(child.pid);
      if (res.errors || res.non2xx) throw new Error(`${name}: ${res.errors} errors, ${res.non2xx} non-2xx`);
      (results[name] ??= []).push(((t1 - t0) / 100 / res.requests.total) * 1e6);
      child.kill("SIGTERM");
      while (child.exitCode === null) await sleep(50);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const shipped = median(results["as shipped"]);
  console.log(`\nworkerd CPU per request, returning visitor, GET / (${ROUNDS} rounds × ${DURATION} s, medians)\n`);
  console.log("| variant | µs/request | vs as shipped |");
  console.log("|---|---|---|");
  for (const [name, xs] of Object.entries(results)) {
    const m = median(xs);
    console.log(`| ${name} | ${m.toFixed(0)} (${xs.map((x) => x.toFixed(0)).join(", ")}) | ${name === "as shipped" ? "" : (m - shipped).toFixed(0)} |`);
  }
} finally {
  await origin.close();
  fs.rmSync(base, { recursive: true, force: true });
}
