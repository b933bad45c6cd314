#!/usr/bin/env node
// `make demo`: serves the demo storefront with the script include on 127.0.0.1 and prints the
// URL; runs until interrupted. PORT (default 8080; 0 = any free port).
import { startServer } from '../www/serve.mjs';

const port = Number(process.env.PORT ?? 8080);
const demo = await startServer({ port, log: true });
console.log(`
edgewise demo
  storefront (script include, in-browser):  ${demo.url}
  the same with the debug overlay:          ${demo.url}?ew_debug=1
Ctrl-C to stop.`);
process.on('SIGINT', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
