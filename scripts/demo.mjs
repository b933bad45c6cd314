#!/usr/bin/env node
// `make demo`: serves the demo storefront with the script include on 127.0.0.1 and, beside it,
// the edge worker on the real workerd runtime (scripts/edge-demo.mjs, in front of its sample
// origin); prints the URLs and runs until interrupted.
//   PORT (default 8080; 0 = any free port), EDGE_PORT (default 8787). --no-edge: the storefront only.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../www/serve.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const port = Number(process.env.PORT ?? 8080);
const demo = await startServer({ port, log: true });
console.log(`
edgewise demo
  storefront (script include, in-browser):  ${demo.url}
  the same with the debug overlay:          ${demo.url}?ew_debug=1`);
let edge = null;
if (!process.argv.includes('--no-edge')) {
  console.log('  edge worker (workerd): starting…');
  edge = spawn(process.execPath, [path.join(root, 'scripts/edge-demo.mjs'), '--port', process.env.EDGE_PORT ?? '8787'], { stdio: 'inherit' });
  edge.on('exit', (code) => code && console.error(`edge worker exited (${code}); the storefront keeps running`));
}
console.log('Ctrl-C to stop.');
const stop = () => {
  edge?.kill('SIGTERM');
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
