#!/usr/bin/env bash
# wasm-bindgen tests of the JS binding (tests/binding.rs), run twice by wasm-bindgen-test-runner
# (the cargo runner for wasm32 in .cargo/config.toml): in Node, then in headless Chromium.
# Fails if either fails and says which.
#
#   bash scripts/test-binding.sh              both environments
#   bash scripts/test-binding.sh the_real     extra arguments go to the test binary (a filter)
#
# Needs what scripts/ensure-tools.sh installs: the wasm32 target, wasm-bindgen-cli (which brings
# wasm-bindgen-test-runner) at the Cargo.lock version of wasm-bindgen, Debian's chromium and
# chromedriver. CHROMEDRIVER=/path overrides the driver.
#
# Chromium's flags are in webdriver.json at the repository root (the runner reads the file named
# by WASM_BINDGEN_TEST_WEBDRIVER_JSON, else ./webdriver.json, and adds its own `headless`,
# `no-sandbox`, `disable-dev-shm-usage`): --no-sandbox because we run as root, and no
# background networking, component updates, sync or QUIC because the machine has no internet and
# Chromium would otherwise keep trying.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

cargo_args=(--target wasm32-unknown-unknown --no-default-features --features onnx --test binding)

fail() { printf 'test-binding: %s\n' "$*" >&2; exit 1; }

# --- preconditions --------------------------------------------------------------------------
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
have=$(wasm-bindgen-test-runner --version 2>/dev/null | awk '{print $2}')
[ -n "$want" ] || fail "no wasm-bindgen in Cargo.lock"
[ "$have" = "$want" ] ||
  fail "wasm-bindgen-test-runner ${have:-missing}, Cargo.lock has wasm-bindgen $want: run scripts/ensure-tools.sh"
rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown ||
  fail "no wasm32-unknown-unknown target: run scripts/ensure-tools.sh"
driver=${CHROMEDRIVER:-$(command -v chromedriver || true)}
[ -n "$driver" ] && [ -x "$driver" ] || fail "no chromedriver: run scripts/ensure-tools.sh"
[ -f "$root/webdriver.json" ] || fail "webdriver.json missing at the repository root"

# Variables that would make the runner pick another environment or another driver.
clean_env=(env
  -u WASM_BINDGEN_USE_BROWSER -u WASM_BINDGEN_USE_NODE_EXPERIMENTAL -u WASM_BINDGEN_USE_DENO
  -u WASM_BINDGEN_USE_DEDICATED_WORKER -u WASM_BINDGEN_USE_SHARED_WORKER
  -u WASM_BINDGEN_USE_SERVICE_WORKER -u WASM_BINDGEN_USE_NO_MODULE -u NO_HEADLESS
  -u GECKODRIVER -u GECKODRIVER_REMOTE -u SAFARIDRIVER -u SAFARIDRIVER_REMOTE
  -u CHROMEDRIVER_REMOTE -u MSEDGEDRIVER -u MSEDGEDRIVER_REMOTE
  -u CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER)

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# --- build once -----------------------------------------------------------------------------
echo "test-binding: building the wasm test binary (cargo test ${cargo_args[*]} --no-run)"
t=$(now)
"${clean_env[@]}" cargo test "${cargo_args[@]}" --no-run || fail "the wasm test binary did not build"
build_s=$(since "$t")

# --- run in each environment ----------------------------------------------------------------
declare -A result seconds
run() {
  local name=$1; shift
  echo
  echo "test-binding: ===== $name ====="
  local t; t=$(now)
  if "${clean_env[@]}" "$@" cargo test "${cargo_args[@]}" -- "${extra[@]}"; then
    result[$name]=ok
  else
    result[$name]=FAILED
  fi
  seconds[$name]=$(since "$t")
}
extra=("$@")

run node
run chromium WASM_BINDGEN_USE_BROWSER=1 CHROMEDRIVER="$driver" \
  WASM_BINDGEN_TEST_WEBDRIVER_JSON="$root/webdriver.json"

echo
echo "test-binding: build ${build_s}s"
status=0
for name in node chromium; do
  echo "test-binding: $name: ${result[$name]} (${seconds[$name]}s)"
  [ "${result[$name]}" = ok ] || status=1
done
if [ "$status" != 0 ]; then
  failed=$(for n in node chromium; do [ "${result[$n]}" = ok ] || printf '%s ' "$n"; done)
  echo "test-binding: FAILED in: ${failed% }" >&2
fi
exit "$status"
