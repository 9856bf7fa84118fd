# Shared by the CLI test scripts (sourced): VAULT and TMP must be set.
# Argon2id always at the floor (--kdf-ops 2 --kdf-mem 19922944), never less.

PW='correct horse battery staple'
FLOOR=(--kdf-ops 2 --kdf-mem 19922944)
passed=0
failed=0

# run EXPECTED_EXIT ARGS...: runs vault with ZKVAULT_PASSWORD=$PW (unless the
# caller unset it), stdout to $TMP/out, stderr to $TMP/err.
run() {
  local want=$1
  shift
  "$VAULT" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
  status=$?
  if [[ $status -ne $want ]]; then
    echo "  exit $status, wanted $want: zkvault $*"
    sed 's/^/    stderr: /' "$TMP/err" | head -5
    return 1
  fi
}

# check NAME COMMANDS...: one named test case; fails if any command fails.
check() {
  local name=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
    echo "ok - $name"
  else
    failed=$((failed + 1))
    echo "FAIL - $name"
  fi
}

out_is() { [[ "$(cat "$TMP/out")" == "$1" ]] || { echo "  stdout: $(head -c 300 "$TMP/out")"; echo "  wanted: $1"; return 1; }; }
out_has() { grep -q -- "$1" "$TMP/out" || { echo "  stdout lacks '$1': $(head -c 300 "$TMP/out")"; return 1; }; }
out_lacks() { ! grep -q -- "$1" "$TMP/out" || { echo "  stdout has '$1'"; return 1; }; }
err_has() { grep -q -- "$1" "$TMP/err" || { echo "  stderr lacks '$1': $(head -c 300 "$TMP/err")"; return 1; }; }

