#!/usr/bin/env bash
# Runs the Python (pytest) and Node (node --test) binding tests against an
# already built libvault. Builds nothing. Installs Debian's python3-pytest if
# it is missing and the binding's npm dependencies (npm ci).
# Usage: scripts/test_bindings.sh [BUILD_DIR]   (default: build)
# Exits non-zero if either runner fails; prints each runner's summary line.
set -uo pipefail
cd "$(dirname "$0")/.."

build=${1:-build}
if [[ ! -f "$build/libvault-server.so" ]]; then
  echo "test_bindings: $build/libvault-server.so not found: build the library first" >&2
  exit 2
fi
export ZKVAULT_LIB
ZKVAULT_LIB=$(realpath "$build/libvault-server.so")
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

# Debian's pytest runs under Debian's interpreter, whatever python3 is first on PATH.
python=/usr/bin/python3
[[ -x $python ]] || python=$(command -v python3)
if ! "$python" -c 'import pytest' 2>/dev/null; then
  echo "test_bindings: installing python3-pytest"
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends python3-pytest </dev/null ||
    { "${sudo_cmd[@]}" apt-get update -qq &&
      "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends python3-pytest </dev/null; }
fi

echo "== Python binding (pytest) =="
"$python" -m pytest -q -p no:cacheprovider bindings/python/tests 2>&1 | tee "$logs/py"
py_status=${PIPESTATUS[0]}

echo "== Node binding (node --test) =="
node_status=0
if (cd bindings/node && npm ci --no-audit --no-fund --loglevel=error); then
  (cd bindings/node && node --test --test-reporter=spec test/*.test.js) 2>&1 | tee "$logs/node"
  node_status=${PIPESTATUS[0]}
else
  echo "test_bindings: npm ci failed" >&2
  node_status=1
fi

echo "== bindings summary =="
py_line=$(grep -E '^=* *[0-9]+ (passed|failed)|^=* *[0-9]+ .*(passed|failed|error)' "$logs/py" | tail -1)
echo "python: ${py_line:-no pytest summary} (exit $py_status)"
node_pass=$(grep -E '^. pass [0-9]+' "$logs/node" 2>/dev/null | tail -1 | grep -oE '[0-9]+$')
node_fail=$(grep -E '^. fail [0-9]+' "$logs/node" 2>/dev/null | tail -1 | grep -oE '[0-9]+$')
echo "node: ${node_pass:-0} passed, ${node_fail:-0} failed (exit $node_status)"
if ((py_status != 0 || node_status != 0)); then
  echo "test_bindings: FAILED" >&2
  exit 1
fi
echo "test_bindings: all binding tests passed"
