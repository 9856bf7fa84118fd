#!/bin/sh
# Builds the libFuzzer harnesses of fuzz/ (clang, ASan + UBSan, coverage on
# the whole library) in build-fuzz/ and runs each for a bounded time, starting
# from the committed corpus. Fails on any crash, leak, hang, out-of-memory,
# sanitizer report or broken invariant, and then prints the reproducer's path
# (build-fuzz/artifacts/<harness>/) and the end of the fuzzer's log; once the
# bug is fixed, copy the reproducer to fuzz/corpus/<harness>/ so the replay
# test (tests/fuzzreplay) keeps it. scripts/test.sh runs this in CI.
#
#   scripts/fuzz.sh                    every harness, 60 s each
#   FUZZ_TIME=600 scripts/fuzz.sh      longer (FUZZ_TIME=0: build nothing, run nothing)
#   scripts/fuzz.sh blob_open          one harness
#
#   FUZZ_PARALLEL   harnesses run at once (default: the number of cores); the
#                   wall time is about ceil(harnesses / FUZZ_PARALLEL) × FUZZ_TIME
#   FUZZ_UNIT_TIMEOUT  seconds one input may take before it counts as a hang
#                   (default 60: a slow input on a loaded machine is not a bug)
#   FUZZ_JOBS       libFuzzer -jobs/-workers inside one harness (default 1)
#
# New inputs the fuzzer finds go to build-fuzz/corpus/<harness>/ (never to
# the committed corpus, which is only read and is checked to be unchanged);
# merge the interesting ones by hand with -merge=1.
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
TIME="${FUZZ_TIME:-60}"
UNIT_TIMEOUT="${FUZZ_UNIT_TIMEOUT:-60}"
JOBS="${FUZZ_JOBS:-1}"
PARALLEL="${FUZZ_PARALLEL:-$(nproc 2>/dev/null || echo 1)}"
BUILD="$ROOT/build-fuzz"

for n in "$TIME" "$UNIT_TIMEOUT" "$JOBS" "$PARALLEL"; do
  case "$n" in
    '' | *[!0-9]*) echo "fuzz.sh: FUZZ_TIME, FUZZ_UNIT_TIMEOUT, FUZZ_JOBS, FUZZ_PARALLEL must be whole numbers" >&2
                   exit 2 ;;
  esac
done
# libFuzzer reads -max_total_time=0 as "forever".
if [ "$TIME" -eq 0 ]; then
  echo "fuzz.sh: FUZZ_TIME=0, not fuzzing"
  exit 0
fi
[ "$PARALLEL" -ge 1 ] || PARALLEL=1
[ "$UNIT_TIMEOUT" -ge 1 ] || UNIT_TIMEOUT=1

if [ "$#" -gt 0 ]; then
  harnesses=" $*"
else
  harnesses=""
  for f in fuzz/*.c; do
    f=${f#fuzz/}
    harnesses="$harnesses ${f%.c}"
  done
fi
for h in $harnesses; do
  [ -f "fuzz/$h.c" ] || { echo "fuzz.sh: no harness fuzz/$h.c" >&2; exit 2; }
done

mkdir -p "$BUILD"
echo "== fuzz build ($BUILD)"
if ! { cmake -S . -B "$BUILD" -DCMAKE_C_COMPILER=clang -DVAULT_BUILD_FUZZ=ON -DVAULT_SANITIZE=ON \
         -DVAULT_BUILD_TESTS=OFF -DVAULT_BUILD_EXAMPLES=OFF -DVAULT_BUILD_BENCH=OFF \
         -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link" &&
       cmake --build "$BUILD" -j "$(nproc 2>/dev/null || echo 2)"; } >"$BUILD/build.log" 2>&1; then
  echo "fuzz.sh: the fuzz build FAILED (full log: $BUILD/build.log)"
  tail -40 "$BUILD/build.log"
  exit 1
fi

# The committed corpus is only read; a fingerprint before and after proves it.
corpus_fingerprint() {
  find fuzz/corpus -type f -exec cksum {} + | sort
}
corpus_before=$(corpus_fingerprint)

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# Runs one harness; its output goes to $BUILD/fuzz_<h>.log, its exit status
# to $BUILD/fuzz_<h>.rc. Runs in build-fuzz/ so that -jobs' fuzz-N.log files
# land there too.
run_one() {
  h=$1
  mkdir -p "$BUILD/corpus/$h" "$BUILD/artifacts/$h"
  par=""
  [ "$JOBS" -gt 1 ] && par="-jobs=$JOBS -workers=$JOBS"
  dict=""
  [ -f "fuzz/$h.dict" ] && dict="-dict=$ROOT/fuzz/$h.dict"
  # libFuzzer stops between inputs after -max_total_time and kills one input
  # after -timeout; the outer timeout only catches a fuzzer that is stuck
  # outside both (it should never fire).
  rc=0
  # $dict and $par are empty or whole options: split on purpose.
  # shellcheck disable=SC2086
  (cd "$BUILD" &&
    timeout -k 10 $((TIME + UNIT_TIMEOUT + 300)) "$BUILD/fuzz/fuzz_$h" $dict \
      -max_total_time="$TIME" -timeout="$UNIT_TIMEOUT" -rss_limit_mb=4096 -max_len=65536 \
      $par -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/$h/" \
      "$BUILD/corpus/$h" "$ROOT/fuzz/corpus/$h") >"$BUILD/fuzz_$h.log" 2>&1 </dev/null || rc=$?
  echo "$rc" >"$BUILD/fuzz_$h.rc"
}

# Prints the outcome of one harness; returns non-zero if it failed.
report_one() {
  h=$1
  rc=$(cat "$BUILD/fuzz_$h.rc")
  log="$BUILD/fuzz_$h.log"
  if [ "$rc" -eq 0 ]; then
    printf 'fuzz_%s: ok  ' "$h"
    grep -E "stat::(number_of_executed_units|slowest_unit_time_sec|peak_rss_mb)" "$log" |
      sed 's/^stat:://; s/:  */=/' | tr '\n' ' '
    echo
    return 0
  fi
  echo "fuzz_$h FAILED (exit $rc)"
  [ "$rc" -eq 124 ] && echo "  the fuzzer did not stop by itself: killed after $((TIME + UNIT_TIMEOUT + 300)) s"
  repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
  if [ -n "$repro" ]; then
    echo "  reproducer: $repro"
    echo "  replay it:  $BUILD/fuzz/fuzz_$h $repro"
  fi
  echo "  full log:   $log"
  # The report's first lines: the tail below may be all stack trace.
  grep -m 4 -E "runtime error:|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|invariant failed|^SUMMARY:" "$log" |
    sed 's/^/  /' || true
  echo "---- last 40 lines of $log ----"
  tail -40 "$log"
  echo "----"
  return 1
}

echo "== fuzzing ${TIME} s per harness, $PARALLEL at a time:$harnesses"
status=0
# shellcheck disable=SC2086 # harness names are words
set -- $harnesses
while [ "$#" -gt 0 ]; do
  batch=""
  n=0
  while [ "$#" -gt 0 ] && [ "$n" -lt "$PARALLEL" ]; do
    rm -f "$BUILD/fuzz_$1.rc"
    run_one "$1" &
    batch="$batch $1"
    n=$((n + 1))
    shift
  done
  wait
  for h in $batch; do
    report_one "$h" || status=1
  done
done

if [ "$(corpus_fingerprint)" != "$corpus_before" ]; then
  echo "fuzz.sh: the committed corpus fuzz/corpus/ was changed by the run (it must only be read)"
  status=1
fi
exit $status
