#!/usr/bin/env node
// Serves the demo storefront and the script include on 127.0.0.1 (`make demo`; the browser
// tests start it too). No CDN, nothing from outside the project:
//   /                     www/demo/index.html   (strict CSP on every HTML response)
//   /demo/…               www/demo/…
//   /edgewise/…           pkg/www/… (the built include + wasm), /edgewise/config.json = www/demo/edgewise.json
//   /edgewise/engine/…    www/demo/… (the engine config the site config names)
//   /models/…             models/…
//   POST /api/profile, /api/measure   the sync endpoints: 204, and counted in GET /api/log
//
//   node www/serve.mjs [--port 8080]   (port 0 = any free port; prints the URL)
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

function resolve(urlPath) {
  const map = [
    ['/edgewise/config.json', path.join(root, 'www/demo/edgewise.json')],
    ['/edgewise/engine/', path.join(root, 'www/demo/')],
    ['/edgewise/', path.join(root, 'pkg/www/')],
    ['/models/', path.join(root, 'models/')],
    ['/demo/', path.join(root, 'www/demo/')],
  ];
  if (urlPath === '/' || urlPath === '/index.html') return path.join(root, 'www/demo/index.html');
  for (const [prefix, dir] of map) {
    if (urlPath === prefix) return dir;
    if (prefix.endsWith('/') && urlPath.startsWith(prefix)) {
      const file = path.normalize(path.join(dir, urlPath.slice(prefix.length)));
      return file.startsWith(dir) ? file : null; // no ../ escapes
    }
  }
  // Client-side routes of the single-page demo.
  if (/^\/(trips|gear|cart)(\/|$)/.test(urlPath)) return path.join(root, 'www/demo/index.html');
  return null;
}

export function startServer({ port = 0, host = '127.0.0.1', log = false } = {}) {
  const posts = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    if (req.method === 'POST' && (url.pathname === '/api/profile' || url.pathname === '/api/measure')) {
      let body = '';
      for await (const chunk of req) body += chunk;
      posts.push({ path: url.pathname, bytes: body.length, at: Date.now() });
      if (log) console.log(`sync ${url.pathname}: ${body.length} B`);
      res.writeHead(204).end();
      return;
    }
    if (url.pathname === '/api/log') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(posts));
      return;
    }
    const file = resolve(decodeURIComponent(url.pathname));
    if (!file || req.method !== 'GET') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    try {
      const body = await readFile(file);
      const type = TYPES[path.extname(file)] || 'application/octet-stream';
      const headers = { 'content-type': type, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' };
      if (type.startsWith('text/html')) headers['content-security-policy'] = CSP;
      res.writeHead(200, headers).end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });
  return new Promise((ok, err) => {
    server.once('error', err);
    server.listen(port, host, () => {
      const { port: p } = server.address();
      ok({ server, url: `http://${host}:${p}/`, posts, close: () => new Promise((r) => server.close(r)) });
    });
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--port');
  const port = i > 0 ? Number(process.argv[i + 1]) : Number(process.env.PORT || 8080);
  const { url } = await startServer({ port, log: true });
  console.log(`edgewise demo storefront: ${url}   (debug overlay: ${url}?ew_debug=1)`);
}
