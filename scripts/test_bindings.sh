#!/usr/bin/env bash
# Runs the Python (pytest) and Node (node --test) binding tests against an
# already built libvault-server. Builds nothing. Installs Debian's
# python3-pytest if it is missing and the binding's npm dependencies (npm ci).
# With a sanitizer build (-DVAULT_SANITIZE=ON) the interpreters run with the
# ASan runtime preloaded, so a binding that hands the library a dead pointer
# fails loudly. Otherwise it also checks the packages as a user gets them:
# the build installed to a scratch prefix, `pip install` of bindings/python
# into a fresh venv (Debian's setuptools, no package index) and `npm pack` +
# install in a scratch directory, each running its README's program verbatim
# without ZKVAULT_LIB (the library found through pkg-config).
# Usage: scripts/test_bindings.sh [BUILD_DIR]   (default: build)
# Exits non-zero if a runner fails; prints each runner's summary line.
set -uo pipefail
cd "$(dirname "$0")/.."

build=${1:-build}
if [[ ! -f "$build/libvault-server.so" ]]; then
  echo "test_bindings: $build/libvault-server.so not found: build the library first" >&2
  exit 2
fi
export ZKVAULT_LIB
ZKVAULT_LIB=$(realpath "$build/libvault-server.so")
# An instrumented library needs the ASan runtime loaded first; the
# interpreters' own allocations at exit are not ours to check for leaks.
run_env=()
# grep -q would exit at the first match and, under pipefail, nm's SIGPIPE
# would make the test false: read all of nm's output.
if nm -D "$ZKVAULT_LIB" | grep ' U __asan_init' >/dev/null; then
  run_env=(env "LD_PRELOAD=$(clang -print-file-name=libclang_rt.asan-x86_64.so)"
           "ASAN_OPTIONS=detect_leaks=0:abort_on_error=1"
           "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
  echo "test_bindings: AddressSanitizer build: preloading the ASan runtime"
fi
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
"${run_env[@]}" "$python" -m pytest -q -p no:cacheprovider bindings/python/tests 2>&1 | tee "$logs/py"
py_status=${PIPESTATUS[0]}

echo "== Node binding (node --test) =="
node_status=0
if (cd bindings/node && npm ci --no-audit --no-fund --loglevel=error); then
  (cd bindings/node && "${run_env[@]}" node --test --test-reporter=spec test/*.test.js) 2>&1 |
    tee "$logs/node"
  node_status=${PIPESTATUS[0]}
else
  echo "test_bindings: npm ci failed" >&2
  node_status=1
fi

# The first fenced block of the given language in a README, verbatim.
readme_program() { awk -v lang="$2" '$0 == "```" lang {on = 1; next} on && /^```/ {exit} on' "$1"; }

pkg_status=0
if ((${#run_env[@]} == 0)); then
  echo "== packages: install, pip, npm pack; README programs without ZKVAULT_LIB =="
  scratch=$logs/pkg
  mkdir -p "$scratch/run-py" "$scratch/run-node"
  cmake --install "$build" --prefix "$scratch/prefix" >/dev/null &&
    PKG_CONFIG_PATH=$(dirname "$(find "$scratch/prefix" -name vault.pc)") || pkg_status=1
  export PKG_CONFIG_PATH
  # pip builds in the tree it is given: build from a copy to keep the checkout clean.
  cp -r bindings/python "$scratch/python-src"
  if ((pkg_status == 0)) &&
    /usr/bin/python3 -m venv --system-site-packages "$scratch/venv" &&
    "$scratch/venv/bin/pip" install -q --no-build-isolation --no-index "$scratch/python-src" &&
    "$scratch/venv/bin/pip" wheel -q --no-build-isolation --no-deps --no-index \
      -w "$scratch/wheels" "$scratch/python-src" && ls "$scratch"/wheels/zkvault-*.whl >/dev/null &&
    readme_program bindings/python/README.md python >"$scratch/run-py/first.py" &&
    (cd "$scratch/run-py" && env -u ZKVAULT_LIB "$scratch/venv/bin/python" first.py) |
      tee "$logs/pkg-py" && grep -q '^Hello synced at revision 1$' "$logs/pkg-py"; then
    echo "python package: pip install + wheel + README program ok"
  else
    echo "python package: FAILED" >&2
    pkg_status=1
  fi
  if ((pkg_status == 0)) &&
    (cd bindings/node && npm pack --silent --pack-destination "$scratch" >/dev/null) &&
    (cd "$scratch/run-node" && npm init -y >/dev/null &&
      npm install --prefer-offline --no-audit --no-fund --loglevel=error "$scratch"/zkvault-*.tgz) &&
    readme_program bindings/node/README.md js >"$scratch/run-node/first.js" &&
    (cd "$scratch/run-node" && env -u ZKVAULT_LIB node first.js) | tee "$logs/pkg-node" &&
    grep -q '^Hello synced at revision 1$' "$logs/pkg-node"; then
    echo "node package: npm pack + install + README program ok"
  else
    echo "node package: FAILED" >&2
    pkg_status=1
  fi
fi

echo "== bindings summary =="
py_line=$(grep -E '^=* *[0-9]+ (passed|failed)|^=* *[0-9]+ .*(passed|failed|error)' "$logs/py" | tail -1)
echo "python: ${py_line:-no pytest summary} (exit $py_status)"
node_pass=$(grep -E '^. pass [0-9]+' "$logs/node" 2>/dev/null | tail -1 | grep -oE '[0-9]+$')
node_fail=$(grep -E '^. fail [0-9]+' "$logs/node" 2>/dev/null | tail -1 | grep -oE '[0-9]+$')
echo "node: ${node_pass:-0} passed, ${node_fail:-0} failed (exit $node_status)"
if ((py_status != 0 || node_status != 0 || pkg_status != 0)); then
  echo "test_bindings: FAILED" >&2
  exit 1
fi
echo "test_bindings: all binding tests passed"
