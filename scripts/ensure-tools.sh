#!/usr/bin/env bash
# Installs what the build and tests need, skipping what is already there. Idempotent.
#   scripts/ensure-tools.sh            wasm target, wasm-bindgen CLI (exact Cargo.lock version), npm deps
#   scripts/ensure-tools.sh python     also the Python venv for models/gen_models.py
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'tools: %s\n' "$*"; }

if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "wasm32-unknown-unknown present"
else
  say "installing rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
[ -n "$want" ] || { echo "tools: no wasm-bindgen in Cargo.lock" >&2; exit 1; }
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" = "$want" ]; then
  say "wasm-bindgen $have present"
else
  say "installing wasm-bindgen-cli $want (found '${have:-none}'; takes 5-11 minutes)"
  # no --locked: one of its locked dependencies is no longer on the registry
  cargo install wasm-bindgen-cli --version "$want"
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dev dependencies"
  # Not `npm ci`: the registry here lacks workerd's darwin/windows optional packages, so the lock
  # file cannot list them and `npm ci` refuses it as "out of sync". `npm install` follows the lock
  # for everything it lists (exact versions) and skips the unreachable optional platforms.
  npm install --no-audit --no-fund --no-save
else
  say "node_modules present"
fi

# Headless Chromium and its driver for the browser tests (Playwright and wasm-bindgen-test-runner).
if [ -x /usr/bin/chromium ] && command -v chromedriver >/dev/null; then
  say "chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}') present"
else
  say "installing chromium and chromium-driver (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi

if [ "${1:-}" = python ]; then
  if [ -x .venv/bin/python ] && .venv/bin/python -c 'import onnx, onnxruntime, sklearn, skl2onnx' 2>/dev/null; then
    say "python venv present"
  else
    say "creating .venv with models/requirements.txt"
    python3 -m venv .venv
    .venv/bin/pip install -q -r models/requirements.txt
  fi
fi
