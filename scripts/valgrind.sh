#!/bin/sh
# Runs every ctest executable of a build under valgrind memcheck and fails on
# any error or leak ("definitely" or "indirectly" lost; "still reachable" is
# libsodium's and SQLite's process-lifetime state and is not counted).
#   scripts/valgrind.sh [build-dir] [test-regex]
# Slow: Argon2id alone is ~50x slower under memcheck (see docs/security.md).
set -eu
cd "$(dirname "$0")/.."
BUILD="${1:-build-valgrind}"
FILTER="${2:-.}"
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD" -DVAULT_BUILD_BENCH=OFF -DVAULT_BUILD_EXAMPLES=ON >/dev/null
fi
cmake --build "$BUILD" -j "$(nproc)" >/dev/null
mkdir -p "$BUILD/valgrind"
status=0
for t in $(ctest --test-dir "$BUILD" -N | sed -n 's/^ *Test *#[0-9]*: //p' | grep -E "$FILTER"); do
  exe="$BUILD/tests/test_$t"
  case "$t" in headertest_*) exe="$BUILD/tests/$t" ;; esac
  [ -x "$exe" ] || { echo "skip $t (no executable)"; continue; }
  log="$BUILD/valgrind/$t.log"
  start=$(date +%s)
  if VAULT_TEST_TMP="$BUILD/tests/tmp_$t" valgrind --tool=memcheck --error-exitcode=99 \
       --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
       --track-fds=no --child-silent-after-fork=yes --log-file="$log" "$exe" >"$log.out" 2>&1; then
    echo "ok   $t ($(( $(date +%s) - start )) s)"
  else
    echo "FAIL $t ($(( $(date +%s) - start )) s): see $log"
    grep -E "ERROR SUMMARY|definitely|indirectly" "$log" | head -5
    status=1
  fi
done
exit $status
