#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL cluster that belongs to this
# run only, then stops and removes the cluster, whatever happened.
#
#   scripts/pg_test.sh COMMAND [ARGS...]
#   e.g. scripts/pg_test.sh ctest --test-dir build --output-on-failure
#
# Installs Debian's postgresql if it is missing (through scripts/deps.sh's
# rules: sudo when not root). The cluster listens on a Unix socket only, in a
# fresh temporary directory, so it never collides with another cluster or a
# port. initdb refuses to run as root: as root, the cluster runs as the
# `postgres` system user (created by the Debian package) through runuser.
#
# fsync is off unless VAULT_PG_FSYNC=on: the cluster is thrown away, and a
# crash of PostgreSQL itself (not of the machine) loses nothing either way,
# since committed WAL is in the kernel's page cache. It makes the schema
# creation of every test several times faster. Measure throughput with it on.
#
# The command sees:
#   VAULT_TEST_PG_URI    postgresql:///vault_test?host=SOCKETDIR&user=vault
#   VAULT_TEST_PG_STOP   a shell command that stops the cluster (fast shutdown)
#   VAULT_TEST_PG_START  a shell command that starts it again and waits for it
#   VAULT_TEST_PG_FREEZE a shell command that SIGSTOPs the cluster (the postmaster and
#                        its children): connections stay open, nothing answers
#   VAULT_TEST_PG_THAW   a shell command that SIGCONTs it again
# The command's exit status is this script's exit status.
set -euo pipefail

if (($# == 0)); then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi

fail() {
  echo "pg_test.sh: FAILED: $*" >&2
  exit 1
}

# The highest installed major version (the glob alone would sort 9 after 15).
find_bindir() {
  local best
  best=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -n | tail -n1)
  [[ -n "$best" && -x "$best/initdb" && -x "$best/pg_ctl" ]] && echo "$best"
}

install_postgresql() {
  local sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  echo "pg_test.sh: installing Debian's postgresql"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends postgresql </dev/null
}

bindir=$(find_bindir || true)
if [[ -z "$bindir" ]]; then
  install_postgresql || fail "could not install postgresql"
  bindir=$(find_bindir || true)
  [[ -n "$bindir" ]] || fail "postgresql is installed but initdb was not found"
fi

# As root the server runs as `postgres`; otherwise as the caller.
as_owner=()
owner=$(id -un)
if [[ $(id -u) -eq 0 ]]; then
  id postgres >/dev/null 2>&1 || fail "running as root needs the 'postgres' system user"
  as_owner=(runuser -u postgres --)
  owner=postgres
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vault-pg.XXXXXX")
data="$tmp/data"
log="$tmp/server.log"
ctl_opts="-c listen_addresses='' -c unix_socket_directories='$tmp' -c max_connections=200"
ctl_opts+=" -c fsync=${VAULT_PG_FSYNC:-off}"

thaw_cmd=":"
cleanup() {
  local rc=$?
  eval "$thaw_cmd" >/dev/null 2>&1 || true # a frozen cluster would not stop
  if [[ -f "$data/postmaster.pid" ]]; then
    "${as_owner[@]}" "$bindir/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

chmod 0700 "$tmp"
[[ "$owner" == "$(id -un)" ]] || chown "$owner" "$tmp"

"${as_owner[@]}" "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 \
  --locale=C.UTF-8 >"$tmp/initdb.log" 2>&1 ||
  { cat "$tmp/initdb.log" >&2; fail "initdb failed"; }

# By the postmaster's PID (first line of postmaster.pid) and its children's.
signal_cmd() { echo "p=\$(head -n1 $data/postmaster.pid) && kill -$1 \$p \$(pgrep -P \$p)"; }
start_cmd="${as_owner[*]} $bindir/pg_ctl -D $data -l $log -o \"$ctl_opts\" -w -t 60 start"
stop_cmd="${as_owner[*]} $bindir/pg_ctl -D $data -m fast -w -t 60 stop"
eval "$start_cmd" >/dev/null || { cat "$log" >&2; fail "the cluster did not start"; }

psql=("$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$tmp" -U postgres -d postgres)
"${psql[@]}" -c "CREATE ROLE vault LOGIN" -c "CREATE DATABASE vault_test OWNER vault" ||
  fail "could not create the test database"

export VAULT_TEST_PG_URI="postgresql:///vault_test?host=$tmp&user=vault"
export VAULT_TEST_PG_STOP="$stop_cmd"
export VAULT_TEST_PG_START="$start_cmd"
export VAULT_TEST_PG_FREEZE=$(signal_cmd STOP)
export VAULT_TEST_PG_THAW=$(signal_cmd CONT)
thaw_cmd=$VAULT_TEST_PG_THAW
echo "pg_test.sh: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on $tmp"

set +e
"$@"
status=$?
set -e
exit "$status"
