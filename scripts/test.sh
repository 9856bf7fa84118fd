#!/usr/bin/env bash
# Builds zkvault and runs every test: once with gcc (-Werror) and the bindings
# (with the pip/npm package checks), Release builds with gcc and clang, the
# client-only build and its tests, once with clang under AddressSanitizer +
# UndefinedBehaviorSanitizer (the bindings too), then fuzzes each libFuzzer
# harness of fuzz/ for a bounded time (scripts/fuzz.sh: any crash, leak, hang
# or sanitizer report fails). Installs missing Debian packages first.
# Usage: scripts/test.sh [--quick]   (--quick: skip the sanitizer pass and fuzzing)
#   FUZZ_TIME=N      seconds per fuzz harness (default 30; 0 skips fuzzing)
#   VAULT_SKIP_FUZZ=1  skip fuzzing
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --with-extras

jobs=$(nproc 2>/dev/null || echo 2)

# CI builds with warnings as errors (VAULT_WERROR is off by default so that a
# packager's build with another compiler version does not fail on a new warning).
echo "== build and test (gcc, -Werror) =="
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=gcc -DVAULT_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
# The server suite also runs against PostgreSQL: pg_test.sh gives the run a
# throwaway cluster of its own and removes it afterwards.
bash scripts/pg_test.sh ctest --test-dir build --output-on-failure -j"$jobs"

echo "== bindings (Python ctypes, Node koffi) =="
bash scripts/test_bindings.sh build

# What a packager runs: Release (-O3) with both compilers, every target; then
# the client-only library (no server, no libpq/libmicrohttpd) and its tests.
for cc in gcc clang; do
  echo "== Release build ($cc, -Werror) =="
  cmake -S . -B "build-release-$cc" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER="$cc" \
        -DVAULT_WERROR=ON >/dev/null
  cmake --build "build-release-$cc" -j"$jobs" >/dev/null
done
echo "== client-only build and test (-DVAULT_WITH_SERVER=OFF) =="
cmake -S . -B build-client -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVAULT_WITH_SERVER=OFF \
      -DVAULT_WERROR=ON >/dev/null
cmake --build build-client -j"$jobs" >/dev/null
ctest --test-dir build-client --output-on-failure -j"$jobs"

if [[ "${1:-}" != "--quick" ]]; then
  echo "== build and test (clang, ASan + UBSan) =="
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
        -DCMAKE_CXX_COMPILER=clang++ -DVAULT_SANITIZE=ON -DVAULT_BUILD_BENCH=OFF -DVAULT_WERROR=ON >/dev/null
  cmake --build build-asan -j"$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    bash scripts/pg_test.sh ctest --test-dir build-asan --output-on-failure -j"$jobs"
  echo "== bindings under ASan (runtime preloaded into python3 and node) =="
  bash scripts/test_bindings.sh build-asan

  # 5 harnesses, two at a time on CI's 2 cores: about 3 × FUZZ_TIME plus the
  # fuzz build. Each harness is bounded in wall time, so a loaded machine
  # fuzzes less but does not take longer.
  fuzz_time="${FUZZ_TIME:-30}"
  if [[ "${VAULT_SKIP_FUZZ:-0}" == 1 || "$fuzz_time" == 0 ]]; then
    echo "== fuzzing skipped (VAULT_SKIP_FUZZ=1 or FUZZ_TIME=0) =="
  else
    echo "== fuzz (libFuzzer, ASan + UBSan, ${fuzz_time} s per harness) =="
    fuzz_start=$SECONDS
    FUZZ_TIME="$fuzz_time" sh scripts/fuzz.sh
    echo "== fuzzing took $((SECONDS - fuzz_start)) s =="
  fi
fi
echo "== all tests passed =="
