// What the edge benchmarks (bench.mjs, breakdown.mjs, profile.mjs) share: waiting for a
// process to answer, and a returning visitor's state cookie.

/** The consent cookie of a visitor who allowed everything the worker asks for. */
export const FULL = "ew_consent=storage.personalization.measurement";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `url` until it answers 2xx; throws when `child` exits or after two minutes. */
export async function waitFor(url, child, what) {
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited`);
    try {
      const r = await fetch(url);
      await r.arrayBuffer();
      if (r.ok) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`${what} did not start`);
    await sleep(200);
  }
}

/**
 * The `ew_state` value a worker at `pageUrl` sets after `pages` page views with full consent
 * (null from a worker that sets none: pass-through, or a variant without the cookie).
 */
export async function returningState(pageUrl, pages = 10) {
  let state = null;
  for (let i = 0; i < pages; i++) {
    const r = await fetch(pageUrl, { headers: { cookie: state ? `${FULL}; ew_state=${state}` : FULL } });
    await r.arrayBuffer();
    const c = r.headers.getSetCookie().find((x) => x.startsWith("ew_state="));
    if (c) state = c.slice(9, c.indexOf(";"));
  }
  return state;
}

/** The Cookie header of that visitor. */
export const returningCookie = (state) => (state ? `${FULL}; ew_state=${state}` : FULL);
