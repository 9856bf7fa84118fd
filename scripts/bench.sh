#!/usr/bin/env bash
# Builds zkvault (RelWithDebInfo: -O2) and runs the benchmarks of issue 7:
# bench_vault (vault pipeline vs the raw pipeline, zlib levels, KDF, merge),
# bench_server (server throughput and latency through vault_httpd on loopback)
# and, with --keepassxc, the KeePassXC peer comparison. Benchmarks are never
# part of the test command. Results go to stdout (Markdown tables).
#
# Usage: scripts/bench.sh [--full] [--cpu-time] [--keepassxc] [--seconds S]
#   --full       include the 100k-item vault (a few minutes, ~1 GB of memory)
#   --cpu-time   time single-threaded steps by thread CPU time (busy machines)
#   --keepassxc  also run scripts/bench_keepassxc.sh (installs keepassxc)
#   --seconds S  duration of each bench_server cell (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."

vault_args=()
keepassxc=0
seconds=3
while (($# > 0)); do
  case "$1" in
    --full) vault_args+=(--full); shift ;;
    --cpu-time) vault_args+=(--cpu-time); shift ;;
    --keepassxc) keepassxc=1; shift ;;
    --seconds) seconds="$2"; shift 2 ;;
    *) echo "usage: $0 [--full] [--cpu-time] [--keepassxc] [--seconds S]" >&2; exit 2 ;;
  esac
done

bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target bench_vault bench_server -j"$(nproc)" >/dev/null

# The raw pipeline must compress at the library's own level.
level=$(sed -n 's/^#define BLOB_ZLIB_LEVEL \([0-9]\).*/\1/p' src/blob/blob_int.h)
if [[ -z "$level" ]]; then
  echo "cannot read BLOB_ZLIB_LEVEL from src/blob/blob_int.h" >&2
  exit 1
fi

echo "## bench_vault (library zlib level $level, from src/blob/blob_int.h)"
echo
build/bench_vault --zlib-level "$level" "${vault_args[@]}"
echo
echo "## bench_server"
echo
build/bench_server --seconds "$seconds"
if ((keepassxc)); then
  echo
  echo "## KeePassXC"
  echo
  bash scripts/bench_keepassxc.sh
fi
