// What a request says about the visit, reduced to the few coarse values the engine uses:
// device class, hour of day, country, where the visit came from, and events implied by the
// path (a product page is a product_view). Raw headers (the User-Agent, the referrer URL, the
// IP) never enter the engine or the state cookie.

const TABLET = /iPad|Tablet|PlayBook|Silk|Kindle|Nexus (?:7|9|10)|SM-T\d|Android(?!.*Mobile)/i;
const MOBILE = /Mobi|iPhone|iPod|Android|Windows Phone|BlackBerry|BB10|Opera Mini|IEMobile/i;

/** "mobile" | "tablet" | "desktop" (the values of the models' `device` feature). */
export function deviceClass(ua) {
  if (!ua) return "desktop";
  if (TABLET.test(ua)) return "tablet";
  if (MOBILE.test(ua)) return "mobile";
  return "desktop";
}

const hourFormats = new Map();

/** Hour 0-23 in the visitor's time zone when the edge knows it (`request.cf.timezone`), else UTC. */
export function hourOfDay(nowMs, timeZone) {
  if (typeof timeZone === "string" && timeZone.length <= 64) {
    try {
      let f = hourFormats.get(timeZone);
      if (!f) {
        f = new Intl.DateTimeFormat("en-US", { timeZone, hour: "numeric", hourCycle: "h23" });
        if (hourFormats.size < 512) hourFormats.set(timeZone, f);
      }
      const h = parseInt(f.format(new Date(nowMs)), 10);
      if (h >= 0 && h < 24) return h;
    } catch {
      /* unknown zone: UTC */
    }
  }
  return new Date(nowMs).getUTCHours();
}

const SEARCH = /(^|\.)(google|bing|duckduckgo|yahoo|ecosia|baidu|yandex|qwant|startpage|brave)\./i;
const SOCIAL = /(^|\.)(facebook|instagram|t\.co|twitter|x\.com|linkedin|pinterest|reddit|tiktok|youtube)(\.|$)/i;

/** "direct" | "internal" | "search" | "social" | "other" — never the referrer URL itself. */
export function referrerClass(referrer, ownHost) {
  if (!referrer) return "direct";
  let host;
  try {
    host = new URL(referrer).hostname;
  } catch {
    return "other";
  }
  if (host === ownHost) return "internal";
  if (SEARCH.test(host)) return "search";
  if (SOCIAL.test(host)) return "social";
  return "other";
}

/** The engine context (`engine.setContext`) for a request. */
export function requestContext(request, url, nowMs) {
  const cf = request.cf || {};
  const ctx = {
    device: deviceClass(request.headers.get("user-agent")),
    hour_of_day: hourOfDay(nowMs, cf.timezone),
    referrer: referrerClass(request.headers.get("referer"), url.hostname),
  };
  const country = (request.headers.get("cf-ipcountry") || cf.country || "").toUpperCase();
  if (/^[A-Z][A-Z0-9]$/.test(country)) ctx.country = country;
  return ctx;
}

/** Compiles `edge.json` routes: `{match, event, categories?}` → `{re, event, categories}`. */
export function compileRoutes(routes) {
  if (!Array.isArray(routes)) return [];
  return routes.slice(0, 64).map((r, i) => {
    if (!r || typeof r.match !== "string" || typeof r.event !== "string") {
      throw new Error(`edge.json routes[${i}] needs "match" and "event"`);
    }
    return {
      re: new RegExp(r.match),
      event: r.event,
      categories: Array.isArray(r.categories) ? new Set(r.categories) : null,
    };
  });
}

/** Events this page view implies: always a page_view, plus the first matching route's event. */
export function pathEvents(routes, pathname) {
  const events = [{ kind: "page_view" }];
  for (const r of routes) {
    const m = r.re.exec(pathname);
    if (!m) continue;
    const ev = { kind: r.event };
    const g = m.groups || {};
    if (g.category && r.categories && r.categories.has(g.category)) ev.category = g.category;
    if (g.item) ev.item_id = g.item;
    events.push(ev);
    break;
  }
  return events;
}
