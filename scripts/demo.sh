#!/usr/bin/env bash
# Installs what is missing, builds zkvault and runs the end-to-end demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target demo
exec ./build/demo "$@"
