// The Chromium half of the suite: the same measurements as benches/wasm/suite.mjs (the code is
// benches/wasm/common.mjs) on pkg/web (full), pkg/lite/web (lite) and onnxruntime-web's plain
// wasm build (dist/ort.wasm.min.mjs), in one page. window.__bench resolves to the results.
import initFull, * as full from '/pkg/web/edgewise.js';
import initLite, * as lite from '/pkg/lite/web/edgewise.js';
import * as ort from '/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs';
import { ITERATIONS, MODEL_NAMES, clockResolutionUs, compare, runEngineSuite, runOrtSuite } from '/benches/wasm/common.mjs';

const params = new URLSearchParams(location.search);
const it = params.has('quick') ? ITERATIONS.quick : ITERATIONS.full;
const out = document.getElementById('out');
const log = (m) => {
  out.textContent += `\n${m}`;
  console.log(`bench: ${m}`);
};
const fetchOk = async (url) => {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r;
};

async function run() {
  const res = {
    iterations: it,
    user_agent: navigator.userAgent,
    cross_origin_isolated: self.crossOriginIsolated,
    clock_resolution_us: clockResolutionUs(),
    hardware_concurrency: navigator.hardwareConcurrency,
  };
  const files = {};
  for (const name of MODEL_NAMES) {
    const manifestText = await (await fetchOk(`/models/${name}.json`)).text();
    files[name] = {
      manifestText,
      manifest: JSON.parse(manifestText),
      onnx: new Uint8Array(await (await fetchOk(`/models/${name}.onnx`)).arrayBuffer()),
      compiled: await (await fetchOk(`/models/${name}.ewm.json`)).text(),
    };
  }
  const config = await (await fetchOk('/www/demo/config.json')).json();
  config.holdout = 0;

  let a = performance.now();
  await initFull({ module_or_path: '/pkg/web/edgewise_bg.wasm' });
  const fullInit = performance.now() - a;
  a = performance.now();
  await initLite({ module_or_path: '/pkg/lite/web/edgewise_bg.wasm' });
  const liteInit = performance.now() - a;
  res.builds = {};
  for (const [build, ew, initMs] of [['full', full, fullInit], ['lite', lite, liteInit]]) {
    if (ew.build() !== build) throw new Error(`${build}: build() = ${ew.build()}`);
    res.builds[build] = { package: build === 'lite' ? 'pkg/lite/web' : 'pkg/web', init_ms: +initMs.toFixed(2), ...runEngineSuite(ew, build, files, config, it, log) };
  }

  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'error';
  res.ort = { entry: '/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs (plain wasm backend)', ...(await runOrtSuite(ort, full, files, config, it, log)) };
  res.comparison = compare(res.builds, res.ort.models, 'trimmed_mean_us');
  log('done');
  return res;
}

window.__bench = run().catch((e) => ({ error: `${e?.message ?? e}`, stack: e?.stack }));
