#!/usr/bin/env bash
# ctest "systemd_unit": the example unit (examples/vaultd.service.in, as
# configured by the build) passes `systemd-analyze verify`, pointed at the
# vaultd just built. Usage: unit_test.sh UNIT VAULTD_BINARY TMP_DIR
set -euo pipefail
unit=$1 vaultd=$2 tmp=$3
mkdir -p "$tmp"
sed "s#^ExecStart=[^ ]*#ExecStart=$vaultd#" "$unit" >"$tmp/vaultd.service"
out=$(systemd-analyze verify --man=no "$tmp/vaultd.service" 2>&1) || { echo "$out" >&2; exit 1; }
[[ -z $out ]] || { echo "systemd_unit: $out" >&2; exit 1; }
echo "systemd_unit: vaultd.service verifies"
