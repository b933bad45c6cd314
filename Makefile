# edgewise — two commands on a fresh machine:
#   make demo   build everything, serve the demo storefront and the edge worker on 127.0.0.1
#   make test   run every test (native, clippy, wasm in Node and Chromium, browser, worker)
SHELL := /bin/bash
.DEFAULT_GOAL := help
export CARGO_TERM_COLOR ?= never

.PHONY: help tools wasm test test-native test-wasm test-browser test-edge demo demo-node bench bench-native bench-edge bench-bandit models fuzz fuzz-smoke clean

help:
	@echo "make demo    build everything; serve the demo storefront (and the edge worker) on 127.0.0.1"
	@echo "make test    native tests + clippy + wasm build + Node/Chromium binding tests + browser end-to-end tests"
	@echo "make demo-node  a scripted storefront session through the wasm module in Node (no browser)"
	@echo "make bench   decide/track latency of the wasm build in Node"
	@echo "make bench-bandit  edgewise bandits vs Vowpal Wabbit on the bake-off data (venv in .venv-bandit)"
	@echo "make models  regenerate models/*.onnx and test fixtures (Python venv in .venv)"
	@echo "make fuzz    every fuzz target for FUZZ_SECONDS (60) each; fails on a crash (docs/fuzzing.md)"

tools:
	@scripts/ensure-tools.sh

# The wasm matrix declared in wasm-pack.toml (web, nodejs, bundler), optimized and size-checked;
# then the script include (pkg/www: classic + ES module builds, gzip budget).
wasm: tools
	node scripts/build.mjs
	node scripts/build-www.mjs

# Native: the default build (ONNX + tract fallback), then the lite feature set (compiled models
# only, what pkg/lite ships) — clippy and tests for both.
test-native:
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --no-default-features --all-targets -- -D warnings
	cargo test
	cargo test --no-default-features

# The built package from Node, then the binding's wasm-bindgen tests in Node and headless Chromium.
test-wasm: wasm
	node --test tests/wasm/
	bash scripts/test-binding.sh

# The script include and the demo storefront in headless Chromium (playwright-core); screenshots
# and traces land in target/test-output/browser/.
test-browser: wasm
	node --test --test-concurrency=1 tests/browser/

# The Cloudflare Worker (www/edge) on the real workerd runtime: rewriting, consent, signed state
# cookie, Durable Object pooling, isolation, a bounded autocannon load test.
test-edge: wasm
	node --test --test-concurrency=1 tests/edge/

test: tools test-native test-wasm test-browser test-edge

demo: wasm
	node scripts/demo.mjs

demo-node: wasm
	node www/demo/node-demo.mjs

# Personalizing vs pass-through worker on workerd, side by side (about 4 minutes).
bench-edge: wasm
	node benches/edge/bench.mjs

# The wasm suite side by side with onnxruntime-web and GrowthBook (sizes, Node, headless
# Chromium; writes bench/results.json and bench/results.md; exits 1 when a target is missed),
# then the native model bench. The native bench runs even when a target was missed; the
# suite's exit status is kept.
bench: wasm
	@status=0; \
	echo "node benches/run.mjs"; node benches/run.mjs || status=$$?; \
	echo "cargo bench --bench models"; cargo bench --bench models || exit $$?; \
	exit $$status

# Native criterion benches (benches/engine.rs): ingestion, features, inference per model, decide
# (3 models, 3 slots x 8 variants), reward, snapshot/restore; ns/op and allocations/op, summary in
# target/bench/native.json (about 3 minutes).
bench-native:
	cargo bench --bench engine

# Contextual-bandit bake-off against Vowpal Wabbit (benches/bandit_vs_vw.py); writes
# target/bandit_vs_vw.json. The venv is (re)made when it cannot import its packages.
bench-bandit:
	@.venv-bandit/bin/python -c 'import vowpalwabbit, numpy' 2>/dev/null || { \
	  python3 -m venv .venv-bandit && .venv-bandit/bin/pip install -q -r benches/requirements-bandit.txt; }
	cargo build --release --bin edgewise
	.venv-bandit/bin/python benches/bandit_vs_vw.py
	.venv-bandit/bin/python benches/sim_ceiling.py

# Shipped models, their compiled forms, the parity fixture and the test fixtures, all from a
# fixed seed; a second run writes byte-identical files (`git status` stays clean).
MODEL_DATA := target/model-data
models:
	@scripts/ensure-tools.sh python
	cargo build --release --bin edgewise
	mkdir -p $(MODEL_DATA)
	target/release/edgewise simulate --sessions 60000 --seed 1 --out $(MODEL_DATA)/train.jsonl
	.venv/bin/python models/train/train.py --data $(MODEL_DATA)/train.jsonl --out models
	for m in purchase-lr purchase-gbt churn-mlp; do \
	  target/release/edgewise compile-model models/$$m.onnx -o models/$$m.ewm.json || exit 1; done
	target/release/edgewise simulate --sessions 1000 --seed 2 --out $(MODEL_DATA)/parity.jsonl
	.venv/bin/python models/train/parity.py --data $(MODEL_DATA)/parity.jsonl --out tests/fixtures/parity/python.json
	.venv/bin/python models/gen_models.py

# Fuzzing (docs/fuzzing.md): the cargo-fuzz targets in fuzz/ (nightly, AddressSanitizer) and the
# JS state-cookie fuzzers, one after the other, FUZZ_SECONDS each; writes target/fuzz/summary.json
# and summary.md, exits 1 on any crash, hang or out-of-memory. Installs cargo-fuzz when missing.
# FUZZ_TARGETS="snapshot tcf" runs a subset. fuzz-smoke: 10 s each (for CI).
FUZZ_SECONDS ?= 60
fuzz:
	@scripts/ensure-fuzz.sh
	FUZZ_SECONDS=$(FUZZ_SECONDS) node scripts/fuzz.mjs

fuzz-smoke:
	@scripts/ensure-fuzz.sh
	FUZZ_SECONDS=10 node scripts/fuzz.mjs

clean:
	cargo clean
	rm -rf pkg
