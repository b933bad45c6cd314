#!/usr/bin/env node
// Runs the edge worker locally on the real workerd runtime, in front of an origin:
//
//   node scripts/edge-demo.mjs [--port 8787] [--origin URL] [--once]
//
// Without --origin it also starts the sample static origin (www/edge/origin) on a free port.
// It builds the worker into www/edge/dist (modules, assets, config.capnp with a fresh random
// STATE_SECRET and an in-memory Durable Object store), starts workerd, waits until the worker
// answers, and prints its URL and a curl line to try. --once fetches one personalized page,
// prints the rewritten slots and exits (for scripted runs); otherwise it runs until Ctrl-C.
import { spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { buildEdge, randomSecret, WORKERD, ROOT } from "./edge-build.mjs";
import { startOrigin } from "./edge-origin.mjs";

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const once = process.argv.includes("--once");
let stopping = false;
const FULL = "ew_consent=storage.personalization.measurement";

function portFree(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

async function pickPort(wanted) {
  if (await portFree(wanted)) return wanted;
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

let origin = null;
let originUrl = arg("--origin", null);
if (!originUrl) {
  origin = await startOrigin({ port: await pickPort(8788) });
  originUrl = origin.url;
}
const port = await pickPort(Number(arg("--port", 8787)));
const out = path.join(ROOT, "www/edge/dist");
const { capnp } = buildEdge({ out, port, origin: originUrl, secret: randomSecret() });
const child = spawn(WORKERD, ["serve", capnp], { stdio: ["ignore", "inherit", "inherit"] });
const url = `http://127.0.0.1:${port}`;

const stop = async (code = 0) => {
  stopping = true;
  if (child.exitCode === null) child.kill("SIGTERM");
  await origin?.close();
  process.exit(code);
};
process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));
child.on("exit", (code) => {
  if (!stopping) {
    console.error(`workerd exited (${code})`);
    origin?.close().then(() => process.exit(1));
  }
});

const deadline = Date.now() + 120_000;
for (;;) {
  try {
    const r = await fetch(`${url}/edgewise/health`);
    const h = await r.json();
    if (!h.ok) console.error(`edge worker is up but cannot personalize: ${h.error}`);
    break;
  } catch {
    if (Date.now() > deadline) {
      console.error("workerd did not start within 120 s");
      await stop(1);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

console.log(`edge worker (workerd ${path.relative(process.cwd(), capnp)}): ${url}/  → origin ${originUrl}/`);
console.log(`  personalized:  curl -s -H 'Cookie: ${FULL}' ${url}/ | grep data-ew-slot`);
console.log(`  pooled priors: curl -s ${url}/edgewise/priors`);

if (once) {
  const r = await fetch(`${url}/`, { headers: { cookie: FULL, "user-agent": "Mozilla/5.0 (iPhone) Mobile" } });
  const html = await r.text();
  const lines = html.split("\n").filter((l) => l.includes("data-ew-decision") || l.includes("data-ew-field"));
  console.log(`GET / with ${FULL} → ${r.status}, Cache-Control: ${r.headers.get("cache-control")}`);
  for (const l of lines) console.log("  " + l.trim());
  const cookie = r.headers.getSetCookie().find((c) => c.startsWith("ew_state="));
  console.log(`  Set-Cookie: ew_state=… (${cookie ? cookie.length : 0} bytes, signed)`);
  await stop(lines.some((l) => l.includes("data-ew-decision")) ? 0 : 1);
}
