#!/usr/bin/env bash
# ctest "man_pages": the man pages built from docs/cli.md and docs/vaultd.md
# render, and every command `zkvault --help` lists has its entry in zkvault(1)
# (a command added to the app but not to docs/cli.md fails here).
# Usage: man_test.sh ZKVAULT_BINARY ZKVAULT_1 VAULTD_8
set -euo pipefail
app=$1 page=$2 daemon=$3
for c in $("$app" --help | awk '/^  [a-z]/ {print $1}' | sort -u); do
  grep -q "^\\\\fB$c\\b" "$page" || { echo "man_pages: zkvault(1) lacks the command $c" >&2; exit 1; }
done
for p in "$page" "$daemon"; do
  out=$(MANWIDTH=80 man -l "$p" 2>&1 >/dev/null) || { echo "man_pages: $p: $out" >&2; exit 1; }
  [[ -z $out ]] || { echo "man_pages: $p warns: $out" >&2; exit 1; }
done
grep -q -- '--pepper-file' "$daemon" || { echo "man_pages: vaultd(8) lacks its options" >&2; exit 1; }
echo "man_pages: zkvault(1) covers every command; both pages render"
