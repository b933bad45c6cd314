# edgewise — two commands on a fresh machine:
#   make demo   build everything and run the demo
#   make test   run every test (native, clippy, wasm in Node)
SHELL := /bin/bash
.DEFAULT_GOAL := help
export CARGO_TERM_COLOR ?= never

.PHONY: help tools wasm test test-native test-wasm demo bench models clean

help:
	@echo "make demo    build the wasm package and run a scripted storefront session through it"
	@echo "make test    native tests + clippy + wasm build + Node tests of the wasm package"
	@echo "make bench   decide/track latency of the wasm build in Node"
	@echo "make models  regenerate models/*.onnx and test fixtures (Python venv in .venv)"

tools:
	@scripts/ensure-tools.sh

# The wasm matrix declared in wasm-pack.toml (web, nodejs, bundler), optimized and size-checked.
wasm: tools
	node scripts/build.mjs

test-native:
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cargo test

test-wasm: wasm
	node --test tests/wasm/

test: tools test-native test-wasm

demo: wasm
	node www/demo/node-demo.mjs

bench: wasm
	node benches/wasm/node-decide.mjs

models:
	@scripts/ensure-tools.sh python
	.venv/bin/python models/gen_models.py

clean:
	cargo clean
	rm -rf pkg
