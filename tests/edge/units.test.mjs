// The worker's pure helpers, in Node (the same modules workerd runs): device classes, routes,
// cookie and consent parsing, deltas and the prior cap.
import { test } from "node:test";
import assert from "node:assert/strict";
import { deviceClass, referrerClass, hourOfDay, compileRoutes, pathEvents } from "../../www/edge/src/context.js";
import { parseCookies, readConsent } from "../../www/edge/src/state.js";
import { outcomes, outcomeKeys, outcomeDelta, validDelta, capPriors, withPriors } from "../../www/edge/src/priors.js";
import { hasSlotMarker, slotTable } from "../../www/edge/src/rewrite.js";
import { CONFIG, MOBILE_UA, DESKTOP_UA, ROOT, deflateFixed } from "./harness.mjs";
import fs from "node:fs";
import path from "node:path";

test("device class, referrer class, hour of day", () => {
  assert.equal(deviceClass(MOBILE_UA), "mobile");
  assert.equal(deviceClass(DESKTOP_UA), "desktop");
  assert.equal(deviceClass("Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X)"), "tablet");
  assert.equal(deviceClass("Mozilla/5.0 (Linux; Android 14; SM-X910) AppleWebKit/537.36 Safari/537.36"), "tablet");
  assert.equal(deviceClass("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Mobile Safari/537.36"), "mobile");
  assert.equal(deviceClass(null), "desktop");
  assert.equal(referrerClass(null, "shop.example"), "direct");
  assert.equal(referrerClass("https://shop.example/x", "shop.example"), "internal");
  assert.equal(referrerClass("https://www.google.de/search?q=x", "shop.example"), "search");
  assert.equal(referrerClass("https://t.co/abc", "shop.example"), "social");
  assert.equal(referrerClass("https://blog.example/post", "shop.example"), "other");
  assert.equal(referrerClass("::not a url", "shop.example"), "other");
  const t = Date.UTC(2026, 0, 15, 23, 30);
  assert.equal(hourOfDay(t), 23);
  assert.equal(hourOfDay(t, "Europe/Berlin"), 0);
  assert.equal(hourOfDay(t, "Not/AZone"), 23);
});

test("routes from edge.json turn paths into events, categories only from the allow-list", () => {
  const edge = JSON.parse(fs.readFileSync(path.join(ROOT, "www/edge/edge.json"), "utf8"));
  const routes = compileRoutes(edge.routes);
  assert.deepEqual(pathEvents(routes, "/"), [{ kind: "page_view" }]);
  assert.deepEqual(pathEvents(routes, "/products/shoes/trail-runner"), [
    { kind: "page_view" },
    { kind: "product_view", category: "shoes", item_id: "trail-runner" },
  ]);
  assert.deepEqual(pathEvents(routes, "/products/spaceships/x1"), [{ kind: "page_view" }, { kind: "product_view", item_id: "x1" }]);
  assert.deepEqual(pathEvents(routes, "/checkout"), [{ kind: "page_view" }, { kind: "checkout_start" }]);
  assert.throws(() => compileRoutes([{ match: "^/x" }]), /needs "match" and "event"/);
});

test("cookies and the consent contract", () => {
  const c = parseCookies('a=1; ew_consent=storage.personalization; ew_consent=profile_sync; q="x y"; =bad; novalue');
  assert.equal(c.get("ew_consent"), "storage.personalization", "the first occurrence wins");
  assert.equal(c.get("q"), "x y");
  const h = new Headers({ "sec-gpc": "1" });
  assert.deepEqual(readConsent(c, h), {
    host: { storage: true, personalization: true, measurement: false, profile_sync: false },
    tcf: null,
    gpc: true,
  });
  assert.deepEqual(readConsent(parseCookies("ew_consent=personalization%2Cmeasurement%2Cbogus"), new Headers()).host, {
    storage: false,
    personalization: true,
    measurement: true,
    profile_sync: false,
  });
  assert.equal(readConsent(parseCookies("x=1"), new Headers()).host, null, "absent: the banner has not spoken");
  assert.deepEqual(Object.values(readConsent(parseCookies("ew_consent=none"), new Headers()).host), [false, false, false, false]);
  assert.equal(readConsent(parseCookies("euconsent-v2=CPabc"), new Headers({ "sec-gpc": "0" })).tcf, "CPabc");
});

test("deltas, validation, the prior cap, and merging priors into the config", () => {
  // What measurementCounts() returns for a config: [shown, reward] per variant, in its order.
  const keys = outcomeKeys({ slots: [{ id: "hero", variants: [{ id: "a" }, { id: "b" }] }, { id: "offer", variants: [{ id: "x" }] }] });
  assert.deepEqual(keys, ["hero\u0000a", "hero\u0000b", "offer\u0000x"]);
  const before = outcomes(Float64Array.of(3, 1, 2, 0, 0, 0), keys);
  const after = outcomes(Float64Array.of(4, 2, 2, 0, 1, 0), keys);
  assert.deepEqual(outcomeDelta(before, after), { hero: { a: { trials: 1, reward: 1 } }, offer: { x: { trials: 1, reward: 0 } } });
  assert.equal(outcomeDelta(after, after), null);
  assert.equal(outcomes(undefined, keys), null, "refused: nothing to pool");
  assert.equal(outcomes(Float64Array.of(1, 0), keys), null, "counts of another config: nothing to pool");
  assert.throws(() => validDelta({ __proto__x: 1, "bad slot": {} }), /bad slot/);
  assert.throws(() => validDelta(JSON.parse('{"__proto__": {"a": {"trials": 1, "reward": 0}}}')), /bad slot/);
  assert.throws(() => validDelta({ s: { v: { trials: -1, reward: 0 } } }), /bad counts/);
  assert.throws(() => validDelta({ s: { v: { trials: 1e7, reward: 0 } } }), /bad counts/);
  const capped = capPriors(
    { "hero-headline": { welcome: { trials: 1000, reward: 100 }, detailed: { trials: 50, reward: 60 }, nope: { trials: 5, reward: 1 } }, gone: { a: { trials: 1, reward: 1 } } },
    200,
    CONFIG,
  );
  assert.deepEqual(capped, { "hero-headline": { welcome: { trials: 200, reward: 20 }, detailed: { trials: 50, reward: 50 } } });
  const merged = withPriors(CONFIG, capped);
  assert.deepEqual(merged.slots[0].prior, capped["hero-headline"]);
  assert.equal(merged.slots[1].prior, undefined);
  assert.equal(CONFIG.slots[0].prior, undefined, "the cached config is not modified");
});

test("slot marker scan and the layout allow-list come from the config", () => {
  const enc = new TextEncoder();
  assert.equal(hasSlotMarker(enc.encode('<p data-ew-slot="x">')), true);
  assert.equal(hasSlotMarker(enc.encode("<p data-ew-slo>ddata-ew-slo")), false);
  assert.equal(hasSlotMarker(enc.encode("")), false);
  const t = slotTable(CONFIG);
  assert.deepEqual([...t.get("layout").layout], ["ew-grid", "ew-list"]);
  assert.deepEqual([...t.get("offer").kinds], ["offer"]);
});

test("v1 cookies' INFLATE: reads what the previous worker wrote (stored and fixed-Huffman blocks), refuses the rest", async () => {
  const zlib = await import("node:zlib");
  const crypto = await import("node:crypto");
  const { inflateRaw } = await import("../../www/edge/src/inflate.js");
  const inputs = [
    Buffer.alloc(0),
    Buffer.from("a"),
    Buffer.from("abcabcabcabcabcabcabc"),
    crypto.randomBytes(6000),
    Buffer.alloc(70_000, 7),
    Buffer.from(JSON.stringify(Array.from({ length: 2000 }, (_, i) => ({ kind: "page_view", ts: 1795436002949 + i * 37, category: null })))),
    fs.readFileSync(path.join(ROOT, "tests/fixtures/snapshot/format1-edge.bin")),
  ];
  for (let k = 0; k < 50; k++) {
    const alphabet = 1 + (k % 20);
    inputs.push(Buffer.from(Array.from({ length: 37 * k }, (_, i) => 97 + ((i * 7919 + k) % alphabet))));
  }
  for (const data of inputs) {
    assert.ok(Buffer.from(inflateRaw(deflateFixed(data), 1 << 20)).equals(data), `fixed-Huffman blocks (${data.length} bytes)`);
    const stored = zlib.deflateRawSync(data, { level: 0 });
    assert.ok(Buffer.from(inflateRaw(stored, 1 << 20)).equals(data), `stored blocks (${data.length} bytes)`);
  }
  const json = inputs[5];
  assert.throws(() => inflateRaw(zlib.deflateRawSync(json), 1 << 20), /unsupported deflate block type/);
  assert.throws(() => inflateRaw(deflateFixed(Buffer.alloc(5000)), 1000), /over the limit/);
  assert.throws(() => inflateRaw(deflateFixed(json).subarray(0, 100), 1 << 20), /truncated|distance|bad/);
});

test("the edge config has the browser demo's slots (same markup, same variants and rules)", () => {
  const demo = JSON.parse(fs.readFileSync(path.join(ROOT, "www/demo/config.json"), "utf8"));
  assert.deepEqual(
    CONFIG.slots.map(({ prior, ...s }) => s),
    demo.slots.map(({ prior, ...s }) => s),
    "www/edge/config.json must follow www/demo/config.json's slots (only policy/session limits differ)",
  );
  assert.equal(CONFIG.policy.kind, "thompson", "a cookie-sized policy state");
  assert.ok(CONFIG.session.capacity <= 16 && CONFIG.max_pending <= 12, "a cookie-sized session");
});
