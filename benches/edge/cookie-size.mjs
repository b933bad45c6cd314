#!/usr/bin/env node
// How big the state cookie gets: the engine calls the edge worker makes per page (consent,
// context, page_view / product_view, three decisions, a reward every fourth page), then
// snapshot (format 2) → a Set-Cookie of the worker's format (`v2.`, a 43-character MAC); beside
// it what DEFLATE would still save (zlib -9), which the worker does not spend the CPU on.
// For the browser demo's config and for the edge config. Run: node benches/edge/cookie-size.mjs
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { fileURLToPath } from "node:url";
import { initSync, Engine } from "../../pkg/web/edgewise.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
initSync({ module: fs.readFileSync(path.join(ROOT, "pkg/web/edgewise_bg.wasm")) });
const edge = JSON.parse(fs.readFileSync(path.join(ROOT, "www/edge/edge.json"), "utf8"));
const models = edge.models.map((m) => ({
  manifest: fs.readFileSync(path.join(ROOT, m.manifest), "utf8"),
  onnx: new Uint8Array(fs.readFileSync(path.join(ROOT, m.onnx))),
}));
const configs = [
  ["browser demo config (www/demo/config.json)", "www/demo/config.json"],
  ["edge config (www/edge/config.json)", "www/edge/config.json"],
];
console.log("| config | pages | snapshot | deflated (zlib -9, not done) | Set-Cookie |");
console.log("|---|---|---|---|---|");
for (const [name, file] of configs) {
  const cfg = fs.readFileSync(path.join(ROOT, file), "utf8");
  for (const pages of [1, 10, 50]) {
    const e = Engine.create(cfg, models, { seed: 7 });
    e.setConsent({ storage: true, personalization: true, measurement: true });
    for (let i = 0; i < pages; i++) {
      e.setContext({ device: "mobile", hour_of_day: 14, referrer: "search", country: "DE" });
      e.trackMany(i % 2 ? [{ kind: "page_view" }, { kind: "product_view", category: "shoes", item_id: `sku-${i}` }] : [{ kind: "page_view" }]);
      for (const slot of ["hero-headline", "layout", "offer"]) {
        const d = e.decide(slot);
        if (i % 4 === 0) e.reward(d.decision_id, 1);
      }
    }
    const snap = e.snapshot();
    const value = `v2.${(Date.now() + 30 * 86400e3).toString(36)}.${Buffer.from(snap).toString("base64url")}.${"x".repeat(43)}`;
    const header = `ew_state=${value}; Max-Age=2592000; Path=/; HttpOnly; SameSite=Lax; Secure`;
    console.log(`| ${name} | ${pages} | ${snap.length} B | ${zlib.deflateRawSync(snap, { level: 9 }).length} B | ${header.length} B |`);
    e.free();
  }
}
