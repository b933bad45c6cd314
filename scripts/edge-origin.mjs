#!/usr/bin/env node
// A small static origin for the edge worker (local runs, tests, benchmark): serves a directory
// (default www/edge/origin) on 127.0.0.1 with Content-Type by extension, `/x` → `x.html` when
// that exists, and extra routes for tests. Usage: node scripts/edge-origin.mjs [--port 8788] [--root DIR]
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const DEFAULT_ORIGIN_ROOT = path.join(ROOT, "www/edge/origin");

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".txt": "text/plain; charset=utf-8",
  ".bin": "application/octet-stream",
};

/**
 * Starts the origin. `routes`: {"/path": (req, res) => void} handled before the files.
 * Returns {url, port, server, close(), requests()} (requests() = how many were served).
 */
export function startOrigin({ root = DEFAULT_ORIGIN_ROOT, port = 0, host = "127.0.0.1", routes = {} } = {}) {
  const cache = new Map();
  let served = 0;
  const server = http.createServer((req, res) => {
    served++;
    const url = new URL("http://origin" + (req.url.startsWith("/") ? req.url : "/" + req.url));
    const route = routes[url.pathname];
    if (route) return route(req, res);
    let rel = decodeURIComponent(url.pathname);
    if (rel.endsWith("/")) rel += "index.html";
    let file = path.join(root, path.normalize(rel).replace(/^(\.\.[/\\])+/, ""));
    if (!file.startsWith(root)) {
      res.writeHead(403).end();
      return;
    }
    if (!path.extname(file) && !fs.existsSync(file)) file += ".html";
    let body = cache.get(file);
    if (!body) {
      try {
        body = fs.readFileSync(file);
        cache.set(file, body);
      } catch {
        res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found\n");
        return;
      }
    }
    res.writeHead(200, {
      "content-type": TYPES[path.extname(file)] || "application/octet-stream",
      "content-length": body.length,
      "cache-control": "public, max-age=300",
      etag: `"${body.length.toString(16)}-${file.length}"`,
    });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const { port: p } = server.address();
      resolve({
        url: `http://${host}:${p}`,
        port: p,
        server,
        requests: () => served,
        close: () =>
          new Promise((r) => {
            server.closeAllConnections?.();
            server.close(() => r());
          }),
      });
    });
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : dflt;
  };
  const o = await startOrigin({ port: Number(arg("--port", 8788)), root: path.resolve(arg("--root", DEFAULT_ORIGIN_ROOT)) });
  console.log(`origin: ${o.url}/ (${arg("--root", DEFAULT_ORIGIN_ROOT)})`);
}
