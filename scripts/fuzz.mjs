#!/usr/bin/env node
// `make fuzz`: builds the cargo-fuzz targets (fuzz/, nightly, AddressSanitizer), runs each for
// FUZZ_SECONDS one after the other (libFuzzer: -max_total_time, -timeout, -rss_limit_mb,
// -print_final_stats), then the JS state-cookie fuzzers (fuzz/js/state-cookie.mjs) for as long.
// Writes target/fuzz/summary.json and target/fuzz/summary.md (executions, exec/s, crashes per
// target) and exits 1 when any target crashed, hung (timeout) or ran out of memory.
//
// Environment: FUZZ_SECONDS (60), FUZZ_TARGETS (space-separated subset; default all),
// FUZZ_TIMEOUT (s per input, 10), FUZZ_RSS_MB (2048), FUZZ_SEED (libFuzzer -seed; default
// random), FUZZ_BUILD=0 (skip the build).
//
// Corpora: the committed seeds fuzz/seeds/<target>/ are read; what a run adds goes to
// fuzz/corpus/<target>/ (not committed, reused by the next run). Crash inputs land in
// fuzz/artifacts/<target>/; minimize one with `cargo +nightly fuzz tmin <target> <file>` and
// keep it in tests/fixtures/fuzz/<target>/ (tests/fuzz_regressions.rs replays it).

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const FUZZ = join(ROOT, "fuzz");
const OUT = join(ROOT, "target/fuzz");
const env = process.env;
const seconds = Number(env.FUZZ_SECONDS || 60);
const timeout = Number(env.FUZZ_TIMEOUT || 10);
const rssMb = Number(env.FUZZ_RSS_MB || 2048);

// Every target and its longest input (the compiled/ONNX seeds are up to ~100 KB).
const RUST = {
  event_json: 8192,
  engine_config: 16384,
  model_manifest: 16384,
  onnx_model: 65536,
  compiled_model: 131072,
  snapshot: 65536,
  tcf: 8192,
  feature_spec: 16384,
  rule_expr: 2048,
  host_json: 4096,
};
const JS = { js_cookie: "cookie", js_inflate: "inflate" };
const all = [...Object.keys(RUST), ...Object.keys(JS)];
const wanted = (env.FUZZ_TARGETS || "").split(/[\s,]+/).filter(Boolean);
for (const t of wanted) {
  if (!all.includes(t)) {
    console.error(`fuzz: unknown target ${t}; targets: ${all.join(" ")}`);
    process.exit(2);
  }
}
const targets = wanted.length ? all.filter((t) => wanted.includes(t)) : all;
const triple = spawnSync("rustc", ["+nightly", "-vV"], { encoding: "utf8" }).stdout.match(/host: (\S+)/)?.[1] ?? "x86_64-unknown-linux-gnu";

mkdirSync(OUT, { recursive: true });

if (env.FUZZ_BUILD !== "0" && targets.some((t) => t in RUST)) {
  console.log("fuzz: cargo +nightly fuzz build (AddressSanitizer, debug assertions)");
  const b = spawnSync("cargo", ["+nightly", "fuzz", "build"], { cwd: FUZZ, stdio: "inherit" });
  if (b.status !== 0) {
    console.error("fuzz: the build failed");
    process.exit(b.status || 1);
  }
}

function files(dir) {
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** Runs one command, teeing stderr to a log; resolves {code, text}. */
function run(cmd, argv, opts, log) {
  return new Promise((resolve) => {
    const p = spawn(cmd, argv, { ...opts, stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    const keep = (d) => {
      text += d;
      if (text.length > 4_000_000) text = text.slice(-2_000_000);
    };
    p.stdout.on("data", keep);
    p.stderr.on("data", keep);
    p.on("close", (code, signal) => {
      writeFileSync(log, text);
      resolve({ code: code ?? 128, signal, text });
    });
  });
}

const stat = (text, name) => {
  const m = [...text.matchAll(new RegExp(`stat::${name}:\\s*(\\d+)`, "g"))].pop();
  return m ? Number(m[1]) : null;
};

const results = [];
for (const t of targets) {
  const started = new Date().toISOString();
  if (t in RUST) {
    const corpus = join(FUZZ, "corpus", t);
    const seeds = join(FUZZ, "seeds", t);
    const artifacts = join(FUZZ, "artifacts", t);
    mkdirSync(corpus, { recursive: true });
    mkdirSync(artifacts, { recursive: true });
    const before = new Set(files(artifacts));
    const bin = join(FUZZ, "target", triple, "release", t);
    const argv = [
      corpus,
      seeds,
      `-max_total_time=${seconds}`,
      `-timeout=${timeout}`,
      `-rss_limit_mb=${rssMb}`,
      `-max_len=${RUST[t]}`,
      "-print_final_stats=1",
      `-artifact_prefix=${artifacts}/`,
      ...(env.FUZZ_SEED ? [`-seed=${env.FUZZ_SEED}`] : []),
    ];
    console.log(`fuzz: ${t} for ${seconds} s`);
    const r = await run(bin, argv, { cwd: ROOT, env: { ...env, ASAN_OPTIONS: env.ASAN_OPTIONS || "detect_odr_violation=0" } }, join(OUT, `${t}.log`));
    const found = files(artifacts).filter((f) => !before.has(f));
    const execs = stat(r.text, "number_of_executed_units");
    const done = [...r.text.matchAll(/#\d+\s+DONE\s+cov: (\d+) ft: (\d+) corp: (\d+)/g)].pop();
    results.push({
      target: t,
      engine: "libFuzzer (cargo fuzz, ASan)",
      started,
      seconds,
      execs,
      execs_per_s: stat(r.text, "average_exec_per_sec"),
      crashes: found.length + (r.code !== 0 && found.length === 0 ? 1 : 0),
      exit_code: r.code,
      artifacts: found.map((f) => join("fuzz/artifacts", t, f)),
      coverage: done ? Number(done[1]) : null,
      features: done ? Number(done[2]) : null,
      corpus: done ? Number(done[3]) : null,
      new_units: stat(r.text, "new_units_added"),
      peak_rss_mb: stat(r.text, "peak_rss_mb"),
      seeds: files(seeds).length,
      log: join("target/fuzz", `${t}.log`),
    });
  } else {
    console.log(`fuzz: ${t} for ${seconds} s`);
    const json = join(OUT, `${t}.json`);
    const r = await run("node", [join(FUZZ, "js/state-cookie.mjs"), "--target", JS[t], "--seconds", String(seconds), "--json", json, "--seed", env.FUZZ_SEED || String(Date.now() % 1e9)], { cwd: ROOT }, join(OUT, `${t}.log`));
    let s = {};
    try {
      s = JSON.parse(r.text.trim().split("\n").pop());
    } catch {
      /* reported as a crash below */
    }
    results.push({
      target: t,
      engine: s.engine || "node mutation fuzzer",
      started,
      seconds,
      execs: s.execs ?? null,
      execs_per_s: s.execs_per_s ?? null,
      crashes: s.crashes ?? 1,
      exit_code: r.code,
      artifacts: (s.findings || []).map((f) => join("fuzz/artifacts", t, f.name)),
      outcomes: s.outcomes,
      seed: s.seed,
      log: join("target/fuzz", `${t}.log`),
    });
  }
  const last = results[results.length - 1];
  console.log(`fuzz: ${t}: ${last.execs ?? "?"} execs, ${last.execs_per_s ?? "?"}/s, ${last.crashes} crash(es)${last.artifacts.length ? ": " + last.artifacts.join(" ") : ""}`);
}

const n = (x) => (x === null || x === undefined ? "?" : x.toLocaleString("en-US"));
const md = [
  `| target | engine | seconds | execs | execs/s | crashes | corpus (cov) |`,
  `|---|---|---:|---:|---:|---:|---:|`,
  ...results.map((r) => `| ${r.target} | ${r.engine} | ${r.seconds} | ${n(r.execs)} | ${n(r.execs_per_s)} | ${r.crashes} | ${r.corpus != null ? `${r.corpus} (${r.coverage})` : "–"} |`),
].join("\n");
const summary = { date: new Date().toISOString(), command: `make fuzz FUZZ_SECONDS=${seconds}`, seconds_per_target: seconds, timeout_s: timeout, rss_limit_mb: rssMb, results };
writeFileSync(join(OUT, "summary.json"), JSON.stringify(summary, null, 2) + "\n");
writeFileSync(join(OUT, "summary.md"), md + "\n");
console.log("\n" + md + "\n\nfuzz: target/fuzz/summary.json, target/fuzz/summary.md");
const crashed = results.filter((r) => r.crashes > 0);
if (crashed.length) {
  console.error(`fuzz: FAILED — ${crashed.map((r) => r.target).join(", ")}; inputs in fuzz/artifacts/, logs in target/fuzz/`);
  process.exit(1);
}
