#!/bin/sh
# Builds the libFuzzer harnesses of fuzz/ (clang, ASan + UBSan, coverage on
# the whole library) in build-fuzz/ and runs each for a bounded time, starting
# from the committed corpus. Fails on any crash, leak, timeout or sanitizer
# report; the reproducer is left in build-fuzz/artifacts/<harness>/ — copy it
# to fuzz/corpus/<harness>/ once fixed, so the replay test keeps it.
#
#   scripts/fuzz.sh                 every harness, 60 s each
#   FUZZ_TIME=600 scripts/fuzz.sh   longer
#   scripts/fuzz.sh blob_open       one harness
# New inputs the fuzzer finds go to build-fuzz/corpus/<harness>/ (not the
# committed corpus); merge the interesting ones by hand with -merge=1.
set -eu
cd "$(dirname "$0")/.."
TIME="${FUZZ_TIME:-60}"
JOBS="${FUZZ_JOBS:-1}"
BUILD=build-fuzz

cmake -S . -B "$BUILD" -DCMAKE_C_COMPILER=clang -DVAULT_BUILD_FUZZ=ON -DVAULT_SANITIZE=ON \
  -DVAULT_BUILD_TESTS=OFF -DVAULT_BUILD_EXAMPLES=OFF -DVAULT_BUILD_BENCH=OFF \
  -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link" >/dev/null
cmake --build "$BUILD" -j "$(nproc)" >/dev/null

if [ "$#" -gt 0 ]; then
  harnesses="$*"
else
  harnesses=$(ls fuzz/*.c | xargs -n1 basename | sed 's/\.c$//')
fi

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
status=0
for h in $harnesses; do
  mkdir -p "$BUILD/corpus/$h" "$BUILD/artifacts/$h"
  # -jobs/-workers only when asked: with them libFuzzer forks and logs to ./fuzz-N.log.
  par=""
  [ "$JOBS" -gt 1 ] && par="-jobs=$JOBS -workers=$JOBS"
  dict=""
  [ -f "fuzz/$h.dict" ] && dict="-dict=fuzz/$h.dict"
  echo "== fuzz_$h: ${TIME}s"
  # The writable corpus first (new inputs land there), the committed one second.
  if ! "$BUILD/fuzz/fuzz_$h" $dict -max_total_time="$TIME" -timeout=25 -rss_limit_mb=4096 \
       -max_len=65536 $par -print_final_stats=1 \
       -artifact_prefix="$BUILD/artifacts/$h/" "$BUILD/corpus/$h" "fuzz/corpus/$h" \
       >"$BUILD/fuzz_$h.log" 2>&1; then
    echo "fuzz_$h FAILED: see $BUILD/fuzz_$h.log and $BUILD/artifacts/$h/"
    tail -40 "$BUILD/fuzz_$h.log"
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$BUILD/fuzz_$h.log" | tr '\n' ' '
    echo
  fi
done
exit $status
