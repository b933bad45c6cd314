// Shared by the browser end-to-end tests: Debian's Chromium driven by playwright-core, the demo
// server (www/serve.mjs) on a free loopback port, and helpers that record what a page did.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../../www/serve.mjs';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const outDir = path.join(root, 'target', 'test-output', 'browser');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// The flags this machine needs (DEVELOPERS.md): no sandbox as root, no background networking
// (the closed network refuses it), no GPU.
export const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * A browser (Playwright's `launch` gives it a fresh, empty profile directory of its own), the
 * demo server, and a cleanup function.
 */
export async function setup() {
  mkdirSync(outDir, { recursive: true });
  const server = await startServer({ port: 0 });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  return {
    browser,
    server,
    url: (p = '/') => new URL(p, server.url).href,
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

/**
 * A fresh context (empty storage) and page that records console messages, page errors and
 * every request. `gpc: true` makes the browser send GPC like one that supports it.
 */
export async function openPage(env, { gpc = false, viewport = { width: 1280, height: 800 } } = {}) {
  const context = await env.browser.newContext({
    viewport,
    extraHTTPHeaders: gpc ? { 'Sec-GPC': '1' } : {},
  });
  if (gpc) {
    await context.addInitScript(() => {
      Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true, configurable: true });
    });
  }
  const page = await context.newPage();
  const log = { console: [], errors: [], requests: [], dialogs: [] };
  page.on('console', (m) => log.console.push({ type: m.type(), text: m.text() }));
  page.on('pageerror', (e) => log.errors.push(String(e)));
  page.on('request', (r) => log.requests.push({ url: r.url(), method: r.method() }));
  page.on('dialog', (d) => {
    log.dialogs.push(d.message());
    d.dismiss().catch(() => {});
  });
  return { context, page, log };
}

/** Resolves when the include has finished starting; returns whether it is running. */
export function ready(page) {
  return page.evaluate(
    () =>
      new Promise((resolve) => {
        const ew = window.edgewise;
        if (ew && !Array.isArray(ew) && ew.inspect().ready) return resolve({ ok: true });
        const t = setInterval(() => {
          const e = window.edgewise;
          if (e && !Array.isArray(e) && typeof e.on === 'function') {
            clearInterval(t);
            if (e.inspect().ready) return resolve({ ok: true });
            e.on('ready', (r) => resolve({ ok: r.ok }));
            e.start().then((r) => resolve({ ok: r.ok }));
          }
        }, 10);
      }),
  );
}

/** Our storage keys (the include's prefix is "edgewise") in local and session storage. */
export function ourStorageKeys(page) {
  return page.evaluate(() => {
    const keys = [];
    for (const s of [localStorage, sessionStorage]) for (let i = 0; i < s.length; i++) keys.push(s.key(i));
    return keys.filter((k) => k.startsWith('edgewise'));
  });
}

export const syncRequests = (log) => log.requests.filter((r) => /\/api\/(profile|measure)\b/.test(r.url));

/**
 * Records, in the page, when each marked element was hidden (`window.__hidden`: slot → time)
 * and shown again (`window.__shown`: slot → [time, its data-ew-state then]).
 */
export async function watchHiding(page) {
  await page.addInitScript(() => {
    window.__hidden = new Map();
    window.__shown = new Map();
    new MutationObserver((records) => {
      for (const r of records) {
        const el = r.target;
        if (!el.hasAttribute || !el.hasAttribute('data-ew-slot')) continue;
        const slot = el.getAttribute('data-ew-slot');
        const hidden = el.style.visibility === 'hidden';
        if (hidden && !window.__hidden.has(slot)) window.__hidden.set(slot, performance.now());
        if (!hidden && window.__hidden.has(slot) && !window.__shown.has(slot)) window.__shown.set(slot, [performance.now(), el.getAttribute('data-ew-state')]);
      }
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ['style', 'data-ew-state'] });
  });
}
