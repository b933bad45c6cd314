#!/usr/bin/env bash
# Installs what `make fuzz` needs, skipping what is already there. Idempotent. Not part of
# scripts/ensure-tools.sh: `make test` (and CI) do not need cargo-fuzz.
#   - a nightly toolchain (cargo fuzz builds with -Zsanitizer=address)
#   - cargo-fuzz (from crates.io; a few minutes on a fresh machine)
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'fuzz tools: %s\n' "$*"; }

if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  say "nightly toolchain present"
else
  say "installing the nightly toolchain (minimal profile)"
  rustup toolchain install nightly --profile minimal
fi

if cargo fuzz --version >/dev/null 2>&1; then
  say "$(cargo fuzz --version) present"
else
  say "installing cargo-fuzz (takes a few minutes)"
  cargo install cargo-fuzz --locked
fi
