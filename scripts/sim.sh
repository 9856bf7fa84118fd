#!/bin/sh
# Runs the multi-device sync simulation (tests/sim, docs/sync.md) on many
# seeds, split over the cores, and sums up: how many schedules passed, which
# seeds failed and in which class (F1 never settles, F2 lost edit, F3
# stranded, diverged, unexpected error, crashed). A failing seed replays alone
# with `build/tests/test_sim --seed N`, which prints its step list.
#
#   scripts/sim.sh                 10000 seeds from 1
#   scripts/sim.sh 100000          100000 seeds from 1
#   scripts/sim.sh 5000 200001     5000 seeds from 200001
#
#   SIM_JOBS      processes at once (default: the number of cores)
#   SIM_TIMEOUT   seconds the whole run may take before it is stopped (default 14400)
#   SIM_BUILD     the build directory holding tests/test_sim (default build;
#                 built there with the usual flags if missing)
#   SIM_TRACES    full traces printed per process for its first failures (default 1)
#
# Exits 0 only if every schedule passed. Logs go to $SIM_BUILD/sim-logs/.
set -eu
cd "$(dirname "$0")/.."
COUNT="${1:-10000}"
FROM="${2:-1}"
JOBS="${SIM_JOBS:-$(nproc 2>/dev/null || echo 1)}"
TIMEOUT="${SIM_TIMEOUT:-14400}"
BUILD="${SIM_BUILD:-build}"
TRACES="${SIM_TRACES:-1}"
for n in "$COUNT" "$FROM" "$JOBS" "$TIMEOUT" "$TRACES"; do
  case "$n" in
    '' | *[!0-9]*) echo "sim.sh: counts, SIM_JOBS, SIM_TIMEOUT and SIM_TRACES must be whole numbers" >&2
                   exit 2 ;;
  esac
done
[ "$JOBS" -ge 1 ] || JOBS=1

if [ ! -x "$BUILD/tests/test_sim" ]; then
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD" -j"$JOBS" --target test_sim >/dev/null
fi
LOGS="$BUILD/sim-logs"
rm -rf "$LOGS"
mkdir -p "$LOGS"

# Seeds are dealt in JOBS contiguous ranges, one process each.
per=$(( (COUNT + JOBS - 1) / JOBS ))
start=$(date +%s)
pids=""
i=0
while [ "$i" -lt "$JOBS" ]; do
  a=$(( FROM + i * per ))
  n=$per
  left=$(( FROM + COUNT - a ))
  [ "$left" -lt "$n" ] && n=$left
  if [ "$n" -gt 0 ]; then
    timeout "$TIMEOUT" "$BUILD/tests/test_sim" --from "$a" --count "$n" --traces "$TRACES" \
      >"$LOGS/job$i.log" 2>&1 &
    pids="$pids $!"
  fi
  i=$(( i + 1 ))
done
status=0
for p in $pids; do
  wait "$p" || status=1
done
end=$(date +%s)

passed=$(cat "$LOGS"/job*.log | awk '/^[0-9]+ passed, [0-9]+ failed$/ { s += $1 } END { print s + 0 }')
failed=$(cat "$LOGS"/job*.log | awk '/^[0-9]+ passed, [0-9]+ failed$/ { s += $3 } END { print s + 0 }')
echo "sim: seeds $FROM..$(( FROM + COUNT - 1 )) on $JOBS processes, $(( end - start )) s wall"
for class in F1-never-settles F2-lost-edit F3-stranded diverged unexpected-error crashed; do
  seeds=$(grep -h "^FAIL seed .*$class" "$LOGS"/job*.log | awk '{ sub(":", "", $3); print $3 }' | sort -n)
  if [ -n "$seeds" ]; then
    echo "  $class: $(echo "$seeds" | wc -l) seeds, first: $(echo "$seeds" | head -10 | tr '\n' ' ')"
  fi
done
if [ $(( passed + failed )) -ne "$COUNT" ]; then
  echo "sim: only $(( passed + failed )) of $COUNT schedules finished (timeout or crash): see $LOGS" >&2
  status=1
fi
[ "$failed" -eq 0 ] || status=1
echo "sim: $passed passed, $failed failed"
exit $status
