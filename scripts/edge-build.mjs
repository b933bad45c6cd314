#!/usr/bin/env node
// Builds the edge worker into a self-contained directory (default www/edge/dist):
//   worker.js state.js inflate.js context.js rewrite.js priors.js store.js   (www/edge/src)
//   edgewise.js edgewise_bg.wasm                        (pkg/web, the `full` --target web build)
//   assets/edge.json assets/config.json assets/models/* (what the worker loads through EW_ASSETS)
//   config.capnp                                        (workerd: the worker on 127.0.0.1, the
//                                                         assets, an in-memory Durable Object store)
// wrangler.toml runs it as its build step (`--out dist --wrangler`: no config.capnp), then
// bundles dist/worker.js.
//
//   node scripts/edge-build.mjs [--out DIR] [--port 8787] [--origin http://127.0.0.1:8788]
//                               [--secret S] [--mode personalize|passthrough] [--do-storage memory|DIR]
//
// `buildEdge()` and `writeCapnp()` are also used by tests/edge and benches/edge to run several
// workers (different assets, modes or settings) in one workerd process.
import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const EDGE = path.join(ROOT, "www/edge");
const PKG = path.join(ROOT, "pkg/web");
export const WORKERD = path.join(ROOT, "node_modules/.bin/workerd");
/** The Workers compatibility date (wrangler.toml says the same). */
export const COMPATIBILITY_DATE = "2025-11-01";
const MODULES = ["worker.js", "state.js", "inflate.js", "context.js", "rewrite.js", "priors.js", "store.js"];

/** Copies the worker modules and the wasm package into `out`; returns `out`. */
export function buildModules(out) {
  fs.mkdirSync(out, { recursive: true });
  for (const f of ["edgewise.js", "edgewise_bg.wasm"]) {
    const src = path.join(PKG, f);
    if (!fs.existsSync(src)) {
      throw new Error(`${path.relative(ROOT, src)} is missing: build the wasm package first (make wasm)`);
    }
    fs.copyFileSync(src, path.join(out, f));
  }
  for (const f of MODULES) fs.copyFileSync(path.join(EDGE, "src", f), path.join(out, f));
  // wasm-bindgen's JS snippets (`snippets/<crate>-<hash>/inline<N>.js`, imported by edgewise.js).
  fs.rmSync(path.join(out, "snippets"), { recursive: true, force: true });
  for (const f of snippetModules()) {
    fs.mkdirSync(path.dirname(path.join(out, f)), { recursive: true });
    fs.copyFileSync(path.join(PKG, f), path.join(out, f));
  }
  return out;
}

/** The wasm package's JS snippet files, relative to it (module names in config.capnp). */
function snippetModules() {
  const dir = path.join(PKG, "snippets");
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true })
    .map((f) => path.posix.join("snippets", String(f).split(path.sep).join("/")))
    .filter((f) => f.endsWith(".js"))
    .sort();
}

/**
 * Writes the assets the worker loads: edge.json, the engine config and the models it names
 * (from models/). Returns the directory.
 */
export function buildAssets(dir) {
  const manifest = JSON.parse(fs.readFileSync(path.join(EDGE, "edge.json"), "utf8"));
  fs.mkdirSync(path.join(dir, "models"), { recursive: true });
  fs.copyFileSync(path.join(EDGE, "edge.json"), path.join(dir, "edge.json"));
  fs.copyFileSync(path.join(EDGE, manifest.config || "config.json"), path.join(dir, manifest.config || "config.json"));
  for (const m of manifest.models) {
    for (const rel of [m.manifest, m.onnx, m.compiled].filter(Boolean)) {
      if (!rel.startsWith("models/")) throw new Error(`edge.json: model paths start with models/ (${rel})`);
      fs.copyFileSync(path.join(ROOT, rel), path.join(dir, rel));
    }
  }
  return dir;
}

function capnpText(s) {
  if (!/^[\x20-\x7e]*$/.test(String(s))) throw new Error(`capnp text must be printable ASCII: ${s}`);
  return JSON.stringify(String(s));
}

/**
 * Writes `<out>/config.capnp` for workerd. `workers`: [{name, port, origin, secret, assets,
 * mode, vars: {NAME: "text"}, priors: true, doStorage: "memory" | absolute dir}]. Modules are
 * embedded from `out` (see buildModules).
 */
export function writeCapnp(out, workers, { network = ["public", "local", "private"] } = {}) {
  const services = [`    (name = "net", network = (allow = [${network.map(capnpText).join(", ")}])),`];
  const sockets = [];
  const consts = [];
  for (const w of workers) {
    const id = w.name.replace(/[^A-Za-z0-9]/g, "");
    services.push(`    (name = ${capnpText(`edge-${w.name}`)}, worker = .worker${id}),`);
    services.push(
      `    (name = ${capnpText(`assets-${w.name}`)}, disk = (path = ${capnpText(path.resolve(w.assets))}, writable = false)),`,
    );
    let storage = "(inMemory = void)";
    if (w.doStorage && w.doStorage !== "memory") {
      fs.mkdirSync(w.doStorage, { recursive: true });
      services.push(`    (name = ${capnpText(`do-${w.name}`)}, disk = (path = ${capnpText(path.resolve(w.doStorage))}, writable = true)),`);
      storage = `(localDisk = ${capnpText(`do-${w.name}`)})`;
    }
    sockets.push(
      `    (name = ${capnpText(`http-${w.name}`)}, address = ${capnpText(`127.0.0.1:${w.port}`)}, http = (), service = ${capnpText(`edge-${w.name}`)}),`,
    );
    const vars = { ...(w.vars || {}) };
    if (w.origin) vars.ORIGIN_URL = w.origin;
    if (w.secret) vars.STATE_SECRET = w.secret;
    if (w.mode) vars.EW_MODE = w.mode;
    const bindings = [`    (name = "EW_ASSETS", service = ${capnpText(`assets-${w.name}`)}),`];
    if (w.priors !== false) bindings.push(`    (name = "PRIORS", durableObjectNamespace = "PriorStore"),`);
    for (const [k, v] of Object.entries(vars)) bindings.push(`    (name = ${capnpText(k)}, text = ${capnpText(v)}),`);
    consts.push(`const worker${id} :Workerd.Worker = (
  modules = [
${MODULES.map((m) => `    (name = ${capnpText(m)}, esModule = embed ${capnpText(m)}),`).join("\n")}
    (name = "edgewise.js", esModule = embed "edgewise.js"),
${snippetModules().map((m) => `    (name = ${capnpText(m)}, esModule = embed ${capnpText(m)}),`).join("\n")}
    (name = "edgewise_bg.wasm", wasm = embed "edgewise_bg.wasm"),
  ],
  compatibilityDate = ${capnpText(COMPATIBILITY_DATE)},
  bindings = [
${bindings.join("\n")}
  ],
  durableObjectNamespaces = [
    (className = "PriorStore", uniqueKey = ${capnpText(`edgewise-priors-${w.name}`)}, enableSql = true),
  ],
  durableObjectStorage = ${storage},
  globalOutbound = "net",
);`);
  }
  const text = `# Generated by scripts/edge-build.mjs — the edgewise edge worker on workerd.
# Run: node_modules/.bin/workerd serve ${path.relative(ROOT, path.join(out, "config.capnp"))}
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
${services.join("\n")}
  ],
  sockets = [
${sockets.join("\n")}
  ],
);

${consts.join("\n\n")}
`;
  const file = path.join(out, "config.capnp");
  fs.writeFileSync(file, text);
  return file;
}

/** Modules + assets + a one-worker config.capnp in `out`. */
export function buildEdge({ out, port = 8787, origin, secret, mode, doStorage = "memory", vars = {} }) {
  buildModules(out);
  const assets = buildAssets(path.join(out, "assets"));
  const capnp = writeCapnp(out, [{ name: "main", port, origin, secret, mode, assets, doStorage, vars }]);
  return { out, assets, capnp };
}

export function randomSecret() {
  return crypto.randomBytes(32).toString("hex");
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : dflt;
  };
  const out = path.resolve(arg("--out", path.join(EDGE, "dist")));
  if (process.argv.includes("--wrangler")) {
    // wrangler.toml's build step: modules and assets only (secrets come from `wrangler secret`).
    buildModules(out);
    buildAssets(path.join(out, "assets"));
    console.log(`edge worker modules and assets in ${path.relative(process.cwd(), out) || "."}`);
    process.exit(0);
  }
  const r = buildEdge({
    out,
    port: Number(arg("--port", 8787)),
    origin: arg("--origin", "http://127.0.0.1:8788"),
    secret: arg("--secret", process.env.EW_STATE_SECRET || randomSecret()),
    mode: arg("--mode", undefined),
    doStorage: arg("--do-storage", "memory"),
  });
  console.log(`edge worker built in ${path.relative(process.cwd(), r.out) || "."} (workerd: ${path.relative(process.cwd(), r.capnp)})`);
}
