#!/usr/bin/env bash
# Builds zkvault and runs every test: once with gcc, once with clang under
# AddressSanitizer + UndefinedBehaviorSanitizer. Installs missing Debian
# packages first. Usage: scripts/test.sh [--quick]   (--quick: skip the sanitizer pass)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --with-extras

jobs=$(nproc 2>/dev/null || echo 2)

echo "== build and test (gcc) =="
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=gcc >/dev/null
cmake --build build -j"$jobs"
# The server suite also runs against PostgreSQL: pg_test.sh gives the run a
# throwaway cluster of its own and removes it afterwards.
bash scripts/pg_test.sh ctest --test-dir build --output-on-failure -j"$jobs"

echo "== bindings (Python ctypes, Node koffi) =="
bash scripts/test_bindings.sh build

if [[ "${1:-}" != "--quick" ]]; then
  echo "== build and test (clang, ASan + UBSan) =="
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
        -DCMAKE_CXX_COMPILER=clang++ -DVAULT_SANITIZE=ON -DVAULT_BUILD_BENCH=OFF >/dev/null
  cmake --build build-asan -j"$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    bash scripts/pg_test.sh ctest --test-dir build-asan --output-on-failure -j"$jobs"
fi
echo "== all tests passed =="
