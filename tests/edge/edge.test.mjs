// The edge worker on the real workerd runtime (no mocks): HTML rewriting, pass-through,
// fallback on broken models, the consent contract, the signed state cookie, rewards and pooled
// priors in the Durable Object. One workerd process serves several variants of the worker
// (different assets and settings) on their own loopback ports.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import zlib from "node:zlib";
import {
  startEdge,
  request,
  slotsOf,
  fieldText,
  variantOf,
  escapeText,
  decodeState,
  sealRaw,
  snapshotBytes,
  outcomesOf,
  addTotals,
  eventually,
  CONFIG,
  FULL,
  ROOT,
  ORIGIN_ROOT,
  MOBILE_UA,
  DESKTOP_UA,
} from "./harness.mjs";
import { decodeSnapshot } from "../common/snapshot.mjs";

const INDEX = fs.readFileSync(path.join(ORIGIN_ROOT, "index.html"));
const BLOB = crypto.randomBytes(256 * 1024);
const HOSTILE_COPY = `<img src=x onerror="alert(1)"> & <b>bold</b>`;
const HOSTILE_TITLE = `<script>alert(2)</script>`;
// A TC string generated with @iabtcf/core (tests/fixtures/tcf), consenting to purposes 1, 5, 6
// and 8: storage, personalization and measurement through the engine's default TCF map.
const TCF = JSON.parse(fs.readFileSync(path.join(ROOT, "tests/fixtures/tcf/valid.json"), "utf8")).find(
  (f) => [1, 5, 6, 8].every((p) => f.expected.purposeConsents.includes(p)) && !f.expected.publisherConsents,
).string;

let edge;
const SLOTS = CONFIG.slots.map((s) => s.id);
const DEFAULTS = Object.fromEntries(CONFIG.slots.map((s) => [s.id, s.default]));

before(async () => {
  edge = await startEdge({
    routes: {
      "/blob.bin": (req, res) => {
        res.writeHead(200, { "content-type": "application/octet-stream", "content-length": BLOB.length, etag: '"blob-1"' });
        res.end(BLOB);
      },
      "/echo": (req, res) => {
        const chunks = [];
        req.on("data", (c) => chunks.push(c));
        req.on("end", () => {
          res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
          res.end(Buffer.concat(chunks));
        });
      },
      "/gz": (req, res) => {
        const z = zlib.gzipSync(INDEX);
        res.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-encoding": "gzip", "content-length": z.length });
        res.end(z);
      },
      "/missing-page": (req, res) => {
        res.writeHead(404, { "content-type": "text/html; charset=utf-8" });
        res.end(`<p data-ew-slot="hero-headline">not found</p>`);
      },
      "//elsewhere.example/x": (req, res) => {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("the origin served //elsewhere.example/x");
      },
      "/no-transform": (req, res) => {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-transform" });
        res.end(INDEX);
      },
    },
    workers: [
      // Pooled deltas are flushed every 200 ms here (default 1 s), priors re-read on every request.
      { name: "main", vars: { PRIORS_TTL_S: "0", PRIOR_MAX_TRIALS: "1000000", POOL_FLUSH_MS: "200" } },
      // One post per request, spread over 3 Durable Objects; reads sum the shards.
      { name: "capped", vars: { PRIORS_TTL_S: "0", PRIOR_MAX_TRIALS: "3", POOL_FLUSH_MS: "0", PRIOR_SHARDS: "3" } },
      {
        name: "corrupt",
        mutateAssets: (dir) => fs.writeFileSync(path.join(dir, "models/purchase-lr.onnx"), crypto.randomBytes(300)),
      },
      { name: "missing", mutateAssets: (dir) => fs.rmSync(path.join(dir, "models/churn-mlp.onnx")) },
      {
        name: "hostile",
        mutateAssets: (dir) => {
          const c = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"));
          c.slots[0].variants[0].content = HOSTILE_COPY;
          c.slots[2].variants[0].content.title = HOSTILE_TITLE;
          fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(c));
        },
      },
      { name: "nosecret", secret: null },
    ],
  });
});

after(async () => {
  await edge?.stop();
});

const priors = async (name = "main") => (await request(edge.url(name) + "/edgewise/priors")).text;
const priorsJson = async (name = "main") => JSON.parse(await priors(name));
const sortKeys = (o) =>
  o && typeof o === "object" && !Array.isArray(o)
    ? Object.fromEntries(Object.keys(o).sort().map((k) => [k, sortKeys(o[k])]))
    : o;
const same = (a, b) => JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
const prefixOf = (slots) => slots[0].decision.split("-")[0];
const seqs = (slots) => slots.map((s) => Number(s.decision.split("-")[1]));
const sum = (totals) =>
  Object.values(totals).reduce((n, vs) => n + Object.values(vs).reduce((m, v) => m + v.trials + v.reward, 0), 0);

/** Waits until the pooled totals equal `expected`, then checks they stay there a moment. */
async function expectPooled(expected, name = "main") {
  await eventually(async () => same(await priorsJson(name), expected), { what: `pooled totals ${JSON.stringify(expected)}` });
  await new Promise((r) => setTimeout(r, 700));
  assert.deepEqual(sortKeys(await priorsJson(name)), sortKeys(expected), "nothing else was pooled");
}

/** The pooled totals once they stop changing (posts from earlier requests have landed). */
async function settled(name = "main") {
  let prev = await priors(name);
  for (let i = 0; i < 60; i++) {
    await new Promise((r) => setTimeout(r, 700));
    const cur = await priors(name);
    if (cur === prev) return JSON.parse(cur);
    prev = cur;
  }
  throw new Error(`the pooled totals kept changing: ${prev}`);
}

/** A consenting visitor not in the holdout group (which learns nothing): its response. */
async function learningVisitor(url, cookie = FULL, headers = {}) {
  for (let i = 0; i < 20; i++) {
    const r = await request(url, { cookie, headers });
    if (r.state && !decodeState(r.state).state.holdout) return r;
  }
  throw new Error("20 visitors in a row in the holdout group");
}

test("HTML slots are rewritten as text, marked with the decision, and not shared-cacheable", async () => {
  const r = await request(edge.url("main") + "/", { cookie: "ew_consent=personalization", headers: { "user-agent": DESKTOP_UA } });
  assert.equal(r.status, 200);
  const slots = slotsOf(r.text);
  assert.deepEqual(slots.map((s) => s.slot), SLOTS);
  for (const s of slots) {
    assert.match(s.decision, /^[0-9a-f]{8}-\d+$/);
    assert.ok(variantOf(s.slot, s.variant), `${s.slot}: ${s.variant} is a configured variant`);
  }
  assert.equal(new Set(slots.map((s) => s.decision.split("-")[0])).size, 1, "one engine decided the page");
  const [hero, layout, offer] = slots;
  assert.equal(hero.inner, escapeText(variantOf("hero-headline", hero.variant).content));
  const classes = layout.attrs.class.split(" ");
  assert.ok(classes.includes("products"), "the page's own classes stay");
  assert.deepEqual(classes.filter((c) => c.startsWith("ew-")), [variantOf("layout", layout.variant).content]);
  const content = variantOf("offer", offer.variant).content;
  assert.equal(fieldText(offer.inner, "title"), escapeText(content.title));
  assert.equal(fieldText(offer.inner, "cta"), escapeText(content.cta));
  assert.equal(r.headers.get("cache-control"), "private, max-age=0");
  assert.deepEqual(r.headers.get("vary").split(", ").sort(), ["Cookie", "Sec-GPC", "User-Agent"]);
  assert.equal(r.headers.get("etag"), null, "the origin's ETag does not describe the rewritten body");
  assert.deepEqual(r.setCookies, [], "personalization without storage consent: no cookie");
  assert.notDeepEqual(r.body, INDEX);
  // The rest of the document is the origin's, byte for byte, once the slot attributes and text are put back.
  const restored = r.text
    .replace(/ data-ew-decision="[^"]*" data-ew-variant="[^"]*"/g, "")
    .replace(/(data-ew-slot="hero-headline">)[^<]*/, "$1New season, new favourites.")
    .replace(/products ew-(grid|list)/, "products ew-grid")
    .replace(/(data-ew-field="title">)[^<]*/, "$1Members get early access")
    .replace(/(data-ew-field="cta">)[^<]*/, "$1Join free");
  assert.equal(restored, INDEX.toString());
});

test("the policy chooses per visitor: consenting visitors do not all see the same headline", async () => {
  const seen = new Set();
  for (let i = 0; i < 30 && seen.size < 2; i++) {
    const r = await request(edge.url("main") + "/", { cookie: "ew_consent=personalization" });
    seen.add(slotsOf(r.text)[0].variant);
  }
  assert.ok(seen.size >= 2, `headlines seen: ${[...seen]}`);
});

test("gzip from the origin is decoded, rewritten and encoded again", async () => {
  const r = await request(edge.url("main") + "/gz", { cookie: "ew_consent=personalization", headers: { "accept-encoding": "gzip" } });
  assert.equal(r.status, 200);
  assert.deepEqual(slotsOf(r.text).map((s) => s.slot), SLOTS);
});

test("variant content is text, never HTML", async () => {
  // A TC string that does not decode: TCF allows nothing, the engine decides the defaults,
  // whose content this worker's config made hostile.
  const r = await request(edge.url("hostile") + "/", { cookie: "euconsent-v2=not-a-tc-string" });
  assert.equal(r.status, 200);
  const [hero, , offer] = slotsOf(r.text);
  assert.equal(hero.variant, "welcome");
  assert.equal(hero.inner, escapeText(HOSTILE_COPY));
  assert.equal(fieldText(offer.inner, "title"), escapeText(HOSTILE_TITLE));
  assert.ok(!r.text.includes("<img src=x") && !r.text.includes("<script>alert(2)") && !r.text.includes("<b>bold"));
});

test("anything that is not a personalizable HTML page passes through byte-identical", async () => {
  for (const p of ["/logo.png", "/styles.css", "/api/products.json", "/blob.bin", "/about", "/no-transform"]) {
    const o = await fetch(edge.origin.url + p);
    const ob = Buffer.from(await o.arrayBuffer());
    for (const cookie of [undefined, "ew_consent=personalization"]) {
      const r = await request(edge.url("main") + p, { cookie });
      assert.equal(r.status, 200, p);
      assert.ok(r.body.equals(ob), `${p}: byte-identical`);
      for (const h of ["content-type", "etag", "cache-control"]) assert.equal(r.headers.get(h), o.headers.get(h), `${p} ${h}`);
      assert.deepEqual(r.setCookies, [], p);
    }
  }
  const notFound = await request(edge.url("main") + "/missing-page", { cookie: FULL });
  assert.equal(notFound.status, 404);
  assert.equal(notFound.text, `<p data-ew-slot="hero-headline">not found</p>`, "error pages are not rewritten");
  // A path that looks like another host stays a path on the origin.
  const sneaky = await request(edge.url("main") + "//elsewhere.example/x?q=1");
  assert.equal(sneaky.text, "the origin served //elsewhere.example/x");
  const post = await request(edge.url("main") + "/echo", { method: "POST", body: `<p data-ew-slot="offer">x</p>`, cookie: FULL });
  assert.equal(post.text, `<p data-ew-slot="offer">x</p>`, "only GET is personalized");
  // A page without slots, for a visitor with storage consent: the body is untouched, the state
  // cookie records the page view, and the response becomes private.
  const about = await request(edge.url("main") + "/about", { cookie: FULL });
  assert.ok(about.body.equals(fs.readFileSync(path.join(ORIGIN_ROOT, "about.html"))));
  assert.ok(about.state, "state cookie set");
  assert.equal(about.headers.get("cache-control"), "private, max-age=0");
  assert.equal(decodeState(about.state).state.session.events[0].kind, "page_view");
});

for (const [name, expect] of [
  ["corrupt", /model_parse_failed.*purchase-lr/],
  ["missing", /models\/churn-mlp\.onnx is missing/],
]) {
  test(`a ${name} model: the origin's HTML as it came, one logged error, no 5xx`, async () => {
    const from = edge.logs().length;
    const r = await request(edge.url(name) + "/", { cookie: FULL });
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(INDEX), "the origin's bytes");
    assert.deepEqual(r.setCookies, []);
    assert.equal(r.headers.get("cache-control"), "public, max-age=300", "the origin's headers");
    const line = await eventually(
      () => edge.logs().slice(from).split("\n").find((l) => l.startsWith("edgewise: serving / as the origin sent it")),
      { what: "the error line" },
    );
    assert.match(line, expect);
    const health = JSON.parse((await request(edge.url(name) + "/edgewise/health")).text);
    assert.equal(health.ok, false);
    const png = await request(edge.url(name) + "/logo.png");
    assert.ok(png.body.equals(fs.readFileSync(path.join(ORIGIN_ROOT, "logo.png"))));
    // The reward endpoint and priors do not 5xx either.
    const rw = await request(edge.url(name) + "/edgewise/reward", { method: "POST", body: '{"decision_id":"x-1"}', cookie: FULL });
    assert.ok(rw.status < 500, `reward: ${rw.status}`);
    assert.ok((await request(edge.url(name) + "/edgewise/priors")).status < 500);
  });
}

test("consent: no cookie, no store write without it; GPC blocks pooling; TCF through setTcf", async () => {
  const url = edge.url("main") + "/";
  const start = await settled();
  // Nothing said, or the banner said no (with or without GPC): the engine allows nothing, so
  // the origin's page (with its defaults) comes as it is, nothing set; Vary names the cookie.
  for (const [cookie, headers] of [[undefined, {}], ["ew_consent=none", {}], ["ew_consent=", { "sec-gpc": "1" }]]) {
    const r = await request(url, { cookie, headers });
    assert.ok(r.body.equals(INDEX), `${cookie}: the origin's bytes`);
    assert.deepEqual(r.setCookies, []);
    assert.equal(r.headers.get("vary"), "Cookie");
    assert.equal(r.headers.get("cache-control"), "public, max-age=300");
  }
  // Personalization only: decided from the request, no state kept.
  const p = await request(url, { cookie: "ew_consent=personalization" });
  assert.deepEqual(p.setCookies, []);
  // An invalid TC string: TCF allows nothing; the page still comes.
  const badTcf = await request(url, { cookie: "euconsent-v2=not-a-tc-string" });
  assert.equal(badTcf.status, 200);
  assert.deepEqual(badTcf.setCookies, []);
  assert.deepEqual(Object.fromEntries(slotsOf(badTcf.text).map((s) => [s.slot, s.variant])), DEFAULTS);
  // Storage without measurement, and everything with Sec-GPC: 1 — state is kept, nothing pooled,
  // though these engines did record outcomes.
  let recorded = 0;
  for (const [cookie, headers] of [
    ["ew_consent=storage.personalization", {}],
    [FULL, { "sec-gpc": "1" }],
  ]) {
    for (let i = 0; i < 3; i++) {
      const r = await request(url, { cookie, headers });
      assert.ok(r.state, `${cookie} ${JSON.stringify(headers)}: state cookie`);
      recorded += sum(outcomesOf(decodeState(r.state).state));
    }
  }
  assert.ok(recorded > 0, "the unpooled visitors had outcomes to pool");
  // Sentinels that may pool: full consent by cookie, and a TCF string granting storage,
  // personalization and measurement. The totals move by exactly their outcomes.
  const full = await learningVisitor(url);
  const tcf = await learningVisitor(url, `euconsent-v2=${TCF}`);
  assert.ok(slotsOf(tcf.text).length === 3);
  await expectPooled(addTotals(addTotals(start, outcomesOf(decodeState(full.state).state)), outcomesOf(decodeState(tcf.state).state)));
});

test("the state cookie: signed, restored; tampered, expired or foreign ones are ignored", async () => {
  const url = edge.url("main") + "/";
  const a = await request(url, { cookie: FULL, headers: { "user-agent": MOBILE_UA } });
  const first = slotsOf(a.text);
  assert.deepEqual(seqs(first), [1, 2, 3]);
  const s1 = decodeState(a.state);
  assert.equal(s1.version, 2, "a format 2 snapshot, as it is (v2)");
  assert.match(a.state, /^v2\./);
  assert.ok(a.stateHeader.length < 1000, `Set-Cookie is ${a.stateHeader.length} bytes`);
  assert.match(a.stateHeader, /; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Lax$/);
  assert.ok(s1.expires > Date.now() + 86400e3);
  assert.equal(s1.state.scope, "persistent");
  assert.equal(s1.state.context.device, "mobile");
  assert.deepEqual(Object.keys(s1.state.context).sort(), ["device", "hour_of_day", "referrer"]);
  // Restored: the same visitor continues (decision ids, pseudonymous id, session).
  const b = await request(edge.url("main") + "/products/shoes/trail-runner", {
    cookie: `${FULL}; ew_state=${a.state}`,
    headers: { "user-agent": MOBILE_UA, "cf-ipcountry": "DE" },
  });
  const [offer] = slotsOf(b.text);
  assert.equal(prefixOf([offer]), prefixOf(first));
  assert.equal(Number(offer.decision.split("-")[1]), 4);
  const s2 = decodeState(b.state).state;
  assert.equal(s2.pseudonym, s1.state.pseudonym);
  assert.equal(s2.session.total, 3, "page_view, page_view, product_view");
  assert.deepEqual(s2.session.events.map((e) => e.kind), ["page_view", "page_view", "product_view"]);
  assert.deepEqual(s2.session.categories, ["shoes"]);
  assert.equal(s2.context.country, "DE");

  const [v, exp, payload, mac] = a.state.split(".");
  const flip = (s, i) => s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
  const bad = {
    payload: [v, exp, flip(payload, payload.length >> 1), mac].join("."),
    mac: [v, exp, payload, flip(mac, 5)].join("."),
    expiry: [v, (Date.now() + 400 * 86400e3).toString(36), payload, mac].join("."),
    expired: sealRaw(snapshotBytes(a.state), Date.now() - 1000),
    foreign: sealRaw(snapshotBytes(a.state), Date.now() + 86400e3, "another-secret-".repeat(4)),
    notSnapshot: sealRaw(Buffer.from("EDGEWISE but not really a snapshot"), Date.now() + 86400e3),
    garbage: "hello%20world",
    huge: "v2." + "A".repeat(5000),
  };
  for (const [what, value] of Object.entries(bad)) {
    const r = await request(url, { cookie: `${FULL}; ew_state=${value}` });
    assert.equal(r.status, 200, what);
    const slots = slotsOf(r.text);
    assert.notEqual(prefixOf(slots), prefixOf(first), `${what}: not the original visitor`);
    assert.deepEqual(seqs(slots), [1, 2, 3], `${what}: a fresh engine`);
    const fresh = decodeState(r.state).state;
    assert.equal(fresh.session.total, 1, what);
    assert.notEqual(fresh.pseudonym, s1.state.pseudonym, what);
  }
  // Withdrawal of storage consent: the cookie is deleted and nothing of it is used.
  const w = await request(url, { cookie: `ew_consent=personalization; ew_state=${a.state}` });
  assert.deepEqual(w.setCookies, ["ew_state=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"]);
  assert.notEqual(prefixOf(slotsOf(w.text)), prefixOf(first));
  // Without a STATE_SECRET: personalization from the request, no state cookie at all.
  const ns = await request(edge.url("nosecret") + "/", { cookie: FULL });
  assert.deepEqual(ns.setCookies, []);
  assert.equal(slotsOf(ns.text).length, 3);
  assert.match(edge.logs(), /STATE_SECRET is missing or shorter than 32 characters/);
});

test("a v1 state cookie from the previous worker (DEFLATEd JSON snapshot) restores and comes back as v2", async () => {
  // tests/fixtures/snapshot/format1-edge.bin: this config after ten pages, written by the
  // previous runtime (format 1); sealed the way the previous worker sealed it.
  const old = fs.readFileSync(path.join(ROOT, "tests/fixtures/snapshot/format1-edge.bin"));
  const before = decodeSnapshot(old);
  assert.equal(before.version, 1);
  const v1 = sealRaw(old, Date.now() + 86400e3, undefined, "v1");
  assert.match(v1, /^v1\./);
  const r = await request(edge.url("main") + "/", { cookie: `${FULL}; ew_state=${v1}`, headers: { "user-agent": MOBILE_UA } });
  assert.equal(r.status, 200);
  const slots = slotsOf(r.text);
  assert.equal(slots.length, 3);
  // The same visitor: its decision ids go on from the snapshot's sequence number.
  assert.deepEqual(slots.map((x) => x.decision), [31, 32, 33].map((n) => `${before.state.id_prefix}-${n}`));
  const after = decodeState(r.state);
  assert.equal(after.version, 2);
  assert.match(r.state, /^v2\./);
  assert.equal(after.state.pseudonym, before.state.pseudonym);
  assert.equal(after.state.session.total, before.state.session.total + 1, "one more page_view");
  // What it learned is kept: its outcomes plus this page's learning decisions (a rule's
  // choice is not a bandit trial).
  const shown = {};
  for (const x of slots) {
    const p = after.state.pending.find((d) => d.id === x.decision);
    if (p && p.learn) shown[x.slot] = { [x.variant]: { trials: 1, reward: 0 } };
  }
  assert.ok(Object.keys(shown).length >= 2, JSON.stringify(after.state.pending.slice(-3)));
  assert.deepEqual(outcomesOf(after.state), addTotals(outcomesOf(before.state), shown));
  assert.ok(r.state.length < v1.length, `v2 ${r.state.length} characters, v1 ${v1.length}`);
});

test("rewards: /edgewise/reward teaches the visitor's engine and pools the reward", async () => {
  const url = edge.url("main");
  const start = await settled();
  const a = await learningVisitor(url + "/");
  const st = decodeState(a.state).state;
  const base = addTotals(start, outcomesOf(st));
  await expectPooled(base);
  const hero = slotsOf(a.text)[0];
  assert.ok(st.pending.find((p) => p.id === hero.decision && p.learn), "the hero decision is a learning one");
  const post = (cookie, body, headers = { "content-type": "application/json" }) =>
    request(url + "/edgewise/reward", { method: "POST", cookie, body, headers });
  const r = await post(`${FULL}; ew_state=${a.state}`, JSON.stringify({ decision_id: hero.decision, value: 1 }));
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(JSON.parse(r.text), { ok: true, pooled: true });
  assert.equal(r.headers.get("cache-control"), "no-store");
  const after = decodeState(r.state).state;
  const slot = after.slots.find((s) => s.id === "hero-headline");
  assert.equal(slot.outcomes[slot.variants.indexOf(hero.variant)][1], 1);
  await expectPooled(addTotals(base, { "hero-headline": { [hero.variant]: { trials: 0, reward: 1 } } }));
  // Once per decision; unknown ids; no state; wrong method; bad input; sendBeacon's text/plain.
  const again = await post(`${FULL}; ew_state=${r.state}`, JSON.stringify({ decision_id: hero.decision }), { "content-type": "text/plain" });
  assert.equal(again.status, 409);
  assert.equal(JSON.parse(again.text).code, "already_rewarded");
  const unknown = await post(`${FULL}; ew_state=${r.state}`, JSON.stringify({ decision_id: "00000000-99" }));
  assert.equal(unknown.status, 404);
  assert.equal(JSON.parse(unknown.text).code, "unknown_decision");
  const noState = await post(FULL, JSON.stringify({ decision_id: hero.decision }));
  assert.equal(noState.status, 409);
  assert.equal(JSON.parse(noState.text).code, "no_state");
  assert.equal((await request(url + "/edgewise/reward")).status, 405);
  assert.equal((await post(FULL, "{not json")).status, 400);
  assert.equal((await post(`${FULL}; ew_state=${r.state}`, JSON.stringify({ decision_id: "x", value: "1" }))).status, 400);
  // With GPC the reward teaches this visitor's engine but is not pooled.
  const offer = slotsOf(a.text)[2];
  const gpc = await request(url + "/edgewise/reward", {
    method: "POST",
    cookie: `${FULL}; ew_state=${r.state}`,
    headers: { "sec-gpc": "1", "content-type": "application/json" },
    body: JSON.stringify({ decision_id: offer.decision, value: 0.5 }),
  });
  assert.deepEqual(JSON.parse(gpc.text), { ok: true, pooled: false });
  await expectPooled(addTotals(base, { "hero-headline": { [hero.variant]: { trials: 0, reward: 1 } } }));
});

test("pooled priors are capped and new engines start from them", async () => {
  const url = edge.url("capped");
  let raw = {};
  for (let i = 0; i < 6; i++) raw = addTotals(raw, outcomesOf(decodeState((await learningVisitor(url + "/")).state).state));
  const cap = 3;
  const expected = {};
  for (const [slot, vs] of Object.entries(raw)) {
    for (const [v, { trials, reward }] of Object.entries(vs)) {
      const k = Math.min(1, cap / trials);
      (expected[slot] ??= {})[v] = { trials: Math.round(trials * k * 1000) / 1000, reward: Math.round(reward * k * 1000) / 1000 };
    }
  }
  const served = await eventually(async () => {
    const p = await priorsJson("capped");
    return same(p, expected) && p;
  }, { what: `capped priors ${JSON.stringify(expected)}` });
  for (const vs of Object.values(served)) for (const { trials } of Object.values(vs)) assert.ok(trials <= cap);
  // A new visitor's policy starts at Beta(1 + reward, 1 + trials - reward) for each pooled arm.
  await eventually(
    async () => {
      const st = decodeState((await request(url + "/", { cookie: FULL })).state).state;
      return st.slots.every((s) =>
        s.variants.every((v, i) => {
          const pr = served[s.id]?.[v] || { trials: 0, reward: 0 };
          return (
            Math.abs(s.policy.alpha[i] - (1 + pr.reward)) < 1e-6 &&
            Math.abs(s.policy.beta[i] - (1 + pr.trials - pr.reward)) < 1e-6
          );
        }),
      );
    },
    { what: "a new engine starting from the pooled priors" },
  );
  const res = await request(url + "/edgewise/priors");
  assert.equal(res.headers.get("cache-control"), "public, max-age=0");
});
