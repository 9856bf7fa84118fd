#!/usr/bin/env bash
# ctest "client_deps": the client library (libvault.so) must not need the
# server's libraries at run time: no libpq, no libmicrohttpd under ldd.
# Usage: client_deps.sh LIBVAULT_SO
set -euo pipefail
deps=$(ldd "$1")
if grep -E 'libpq|libmicrohttpd' <<<"$deps"; then
  echo "client_deps: $1 links a server library" >&2
  exit 1
fi
echo "client_deps: $(wc -l <<<"$deps") libraries, none of libpq/libmicrohttpd"
