// Drives benches/wasm/browser/page.mjs in headless Chromium (playwright-core, /usr/bin/chromium,
// the flags of tests/browser/harness.mjs): a tiny static server on 127.0.0.1 serves the page,
// pkg/web, pkg/lite/web, the models and onnxruntime-web's files from node_modules; the results
// come back from the page as JSON. Every request the page makes is recorded, so the report can
// say which onnxruntime-web files a browser really loads.
//
//   node benches/wasm/browser/run.mjs [--quick]
import { createReadStream, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM, FLAGS } from '../../../tests/browser/harness.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
// Only these are served (everything else 404s).
const ALLOWED = ['/benches/wasm/', '/pkg/web/', '/pkg/lite/web/', '/models/', '/www/demo/config.json', '/node_modules/onnxruntime-web/dist/'];
const TYPES = { '.html': 'text/html; charset=utf-8', '.mjs': 'text/javascript', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.onnx': 'application/octet-stream' };

export function startStaticServer() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const p = decodeURIComponent(url.pathname);
    const file = path.join(root, p);
    if (!ALLOWED.some((a) => p.startsWith(a)) || p.includes('..') || !file.startsWith(root)) {
      res.writeHead(404).end();
      return;
    }
    let st;
    try {
      st = statSync(file);
    } catch {
      st = null;
    }
    if (!st?.isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      'Content-Length': st.size,
      'Cache-Control': 'no-store',
      // Cross-origin isolation: Chromium then gives performance.now() 5 µs steps instead of 100 µs.
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
    });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${server.address().port}` })));
}

export async function runBrowser({ quick = false, quiet = false, timeoutMs = 240_000 } = {}) {
  const { server, url } = await startStaticServer();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  try {
    const page = await (await browser.newContext()).newPage();
    const requests = [];
    const errors = [];
    page.on('request', (r) => requests.push(new URL(r.url()).pathname));
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('response', (r) => {
      const p = new URL(r.url()).pathname;
      if (r.status() >= 400 && p !== '/favicon.ico') errors.push(`HTTP ${r.status()} ${p}`);
    });
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text()); // failed loads: from 'response'
      else if (!quiet && m.text().startsWith('bench: ')) console.error(`chromium: ${m.text().slice(7)}`);
    });
    await page.goto(`${url}/benches/wasm/browser/index.html${quick ? '?quick' : ''}`);
    await page.waitForFunction(() => window.__bench !== undefined, null, { timeout: 30_000 });
    let timer;
    const result = await Promise.race([
      page.evaluate(() => window.__bench),
      new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`Chromium bench did not finish in ${timeoutMs / 1000} s`)), timeoutMs))),
    ]).finally(() => clearTimeout(timer));
    if (result?.error) throw new Error(`Chromium bench failed: ${result.error}\n${result.stack ?? ''}`);
    if (errors.length) throw new Error(`Chromium bench: errors in the page: ${errors.join('; ')}`);
    return {
      chromium: browser.version(),
      executable: CHROMIUM,
      flags: FLAGS,
      served_by: 'Node static server on 127.0.0.1 with COOP same-origin + COEP require-corp (cross-origin isolated page)',
      ort_files_loaded: [...new Set(requests.filter((p) => p.startsWith('/node_modules/onnxruntime-web/')).map((p) => p.replace('/node_modules/onnxruntime-web/', '')))],
      page_errors: errors,
      ...result,
    };
  } finally {
    await browser.close();
    server.close();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await runBrowser({ quick: process.argv.includes('--quick') }), null, 2));
}
