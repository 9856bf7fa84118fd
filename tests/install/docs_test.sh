#!/usr/bin/env bash
# ctest "docs": the shipped docs stand alone (no DESIGN.md or ../shared, which
# are not in the repository) and every package carries the same LICENSE.
# Usage: docs_test.sh SOURCE_DIR
set -euo pipefail
cd "$1"
docs=(README.md CHANGELOG.md SECURITY.md docs/*.md bindings/*/README.md)
if grep -n -E 'DESIGN\.md|\.\./shared' "${docs[@]}"; then
  echo "docs: the lines above cite files that are not in the repository" >&2
  exit 1
fi
for copy in bindings/python/LICENSE bindings/node/LICENSE; do
  cmp -s LICENSE "$copy" || { echo "docs: $copy differs from LICENSE" >&2; exit 1; }
done
grep -q '"license": "MIT"' bindings/node/package.json &&
  grep -q 'license = { text = "MIT" }' bindings/python/pyproject.toml ||
  { echo "docs: a package manifest does not state the MIT licence" >&2; exit 1; }
echo "docs: ${#docs[@]} files stand alone; LICENSE copies and manifests agree"
