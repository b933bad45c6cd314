// Concurrency on the real workerd runtime: visitors hammering one isolate at once each get
// decisions from their own state only, and a bounded autocannon run (loopback, 8 s) finishes
// with zero errors and zero non-2xx.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import autocannon from "autocannon";
import { startEdge, request, slotsOf, decodeState, eventually, FULL, MOBILE_UA, DESKTOP_UA, CONFIG } from "./harness.mjs";

let edge;
const DEFAULTS = Object.fromEntries(CONFIG.slots.map((s) => [s.id, s.default]));

before(async () => {
  edge = await startEdge({ workers: [{ name: "main", vars: { PRIORS_TTL_S: "1" } }] });
});

after(async () => {
  await edge?.stop();
});

test("isolation: concurrent visitors each get decisions from their own state only", async () => {
  const url = edge.url("main");
  const visitors = [
    { name: "A", ua: MOBILE_UA, path: "/products/shoes/trail-runner", device: "mobile", events: ["page_view", "product_view"] },
    { name: "B", ua: DESKTOP_UA, path: "/", device: "desktop", events: ["page_view"] },
  ];
  for (const v of visitors) {
    const r = await request(url + v.path, { cookie: FULL, headers: { "user-agent": v.ua } });
    v.state = r.state;
    const st = decodeState(r.state).state;
    v.prefix = st.id_prefix;
    v.pseudonym = st.pseudonym;
    assert.equal(slotsOf(r.text)[0].decision.split("-")[0], v.prefix);
  }
  assert.notEqual(visitors[0].prefix, visitors[1].prefix);
  let checked = 0;
  for (let round = 0; round < 12; round++) {
    const jobs = [];
    for (const v of visitors) {
      const sent = decodeState(v.state).state;
      for (let k = 0; k < 6; k++) {
        jobs.push(
          request(url + v.path, { cookie: `${FULL}; ew_state=${v.state}`, headers: { "user-agent": v.ua } }).then((r) => ({ v, r, sent })),
        );
      }
    }
    // Visitors without consent in the same burst: nothing of anyone's state, no cookie; and
    // visitors deciding from the request alone (personalization, no storage).
    for (let k = 0; k < 4; k++) jobs.push(request(url + "/").then((r) => ({ r })));
    for (let k = 0; k < 4; k++) {
      jobs.push(request(url + "/", { cookie: "ew_consent=personalization" }).then((r) => ({ r, contextOnly: true })));
    }
    const results = await Promise.all(jobs);
    for (const { v, r, sent, contextOnly } of results) {
      assert.equal(r.status, 200);
      const slots = slotsOf(r.text);
      if (contextOnly) {
        // A fresh engine of its own: ids 1-3 under a prefix that is neither visitor's.
        assert.deepEqual(r.setCookies, []);
        assert.deepEqual(slots.map((s) => Number(s.decision.split("-")[1])), [1, 2, 3]);
        assert.ok(!visitors.some((x) => slots[0].decision.startsWith(x.prefix + "-")));
        continue;
      }
      if (!v) {
        // The origin's page with its defaults: no decision, no cookie.
        assert.deepEqual(r.setCookies, []);
        assert.ok(slots.every((s) => s.decision === undefined));
        assert.deepEqual(slots.map((s) => s.slot), Object.keys(DEFAULTS));
        continue;
      }
      // Decision ids continue this visitor's own sequence from the state it sent.
      slots.forEach((s, i) => assert.equal(s.decision, `${v.prefix}-${sent.seq + 1 + i}`, `${v.name} round ${round}`));
      const st = decodeState(r.state).state;
      assert.equal(st.pseudonym, v.pseudonym);
      assert.equal(st.id_prefix, v.prefix);
      assert.equal(st.context.device, v.device);
      assert.equal(st.session.total, sent.session.total + v.events.length);
      assert.ok(st.session.events.every((e) => v.events.includes(e.kind)), `${v.name}: only its own kinds of events`);
      assert.deepEqual(st.session.categories, v.name === "A" ? ["shoes"] : []);
      checked++;
    }
    for (const v of visitors) v.state = results.find((x) => x.v === v).r.state;
  }
  assert.equal(checked, 12 * 12);
});

test("load: autocannon for 8 s on loopback, zero errors, zero non-2xx", async () => {
  const url = edge.url("main");
  const seed = await request(url + "/", { cookie: FULL });
  const from = edge.logs().length;
  const result = await autocannon({
    url,
    connections: 8,
    duration: 8,
    requests: [
      { method: "GET", path: "/", headers: { cookie: FULL } },
      { method: "GET", path: "/", headers: { cookie: `${FULL}; ew_state=${seed.state}`, "user-agent": MOBILE_UA } },
      { method: "GET", path: "/products/shoes/trail-runner", headers: { cookie: "ew_consent=personalization" } },
      { method: "GET", path: "/" },
      { method: "GET", path: "/logo.png" },
      { method: "GET", path: "/about", headers: { cookie: FULL } },
    ],
  });
  console.log(
    `# autocannon: ${result.requests.total} requests, ${result.requests.average} req/s, ` +
      `p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, errors ${result.errors}, non2xx ${result.non2xx}`,
  );
  assert.equal(result.errors, 0);
  assert.equal(result.timeouts, 0);
  assert.equal(result.non2xx, 0);
  assert.ok(result["2xx"] > 100, `${result["2xx"]} responses`);
  assert.equal(
    edge.logs().slice(from).split("\n").filter((l) => l.startsWith("edgewise:")).join("\n"),
    "",
    "no errors logged under load",
  );
  // Pooling kept up: the priors (refreshed every second here) hold the exposures of the run.
  await eventually(
    async () => {
      const p = JSON.parse((await request(url + "/edgewise/priors")).text)["hero-headline"] || {};
      return Object.values(p).reduce((n, v) => n + v.trials, 0) > 100;
    },
    { what: "pooled hero exposures" },
  );
});
