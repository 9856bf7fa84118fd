#!/usr/bin/env bash
# End-to-end tests of the daily-use commands of `zkvault`: trash (two devices
# through a server), TOTP, JSON without secrets, Unicode search, audit,
# clipboard (a fake clipboard tool), shell, logout, delete-account, and the
# passphrase word list. Usage: daily_test.sh ZKVAULT_BINARY TMP_DIR (ctest "cli_daily").
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VAULT=$(realpath "$1")
TMP=${2:-$(mktemp -d)}
rm -rf "$TMP"
mkdir -p "$TMP"
cd "$TMP" || exit 1
source "$HERE/lib.sh"

export ZKVAULT_PASSWORD=$PW
T=(--store "$TMP/t.db")
U=(--store "$TMP/u.db")
SERVER=(--server-db "$TMP/server.db")
RFC_SECRET=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ # RFC 6238's SHA-1 seed, base32

# runin INPUT EXPECTED_EXIT ARGS...: like run, with INPUT on standard input.
runin() {
  local input=$1 want=$2
  shift 2
  printf '%s' "$input" | "$VAULT" "$@" >"$TMP/out" 2>"$TMP/err"
  status=$?
  [[ $status -eq $want ]] || { echo "  exit $status, wanted $want: zkvault $*"; sed 's/^/    stderr: /' "$TMP/err" | head -5; return 1; }
}

t_setup() {
  run 0 "${T[@]}" init "${FLOOR[@]}" &&
    runin $'hunter2\n' 0 "${T[@]}" add Mail -u ada -s password &&
    runin $'hunter2\n' 0 "${T[@]}" add Forum -u ada -s password &&
    runin $'Xk#9vQ!mZr2$wLp7&Tb4\n' 0 "${T[@]}" add Strong -s password &&
    run 0 "${T[@]}" add "Ärzte Berlin" --note "Praxis" &&
    runin $'first-old-secret\n' 0 "${T[@]}" edit Mail -s recovery &&
    runin $'second-secret\n' 0 "${T[@]}" edit Mail -s recovery
}
check "setup: a vault with reused, weak and unicode items" t_setup

# ---- trash ---------------------------------------------------------------------------
t_trash() {
  run 0 "${T[@]}" rm Forum && out_has "moved .* to the trash" && run 0 "${T[@]}" list && out_lacks Forum &&
    run 0 "${T[@]}" list --trash && out_has Forum && out_lacks Mail &&
    run 4 "${T[@]}" get Forum && run 0 "${T[@]}" restore forum && out_has "restored" &&
    run 0 "${T[@]}" list && out_has Forum && run 4 "${T[@]}" restore Forum && err_has "in the trash" &&
    run 0 "${T[@]}" rm Forum && run 0 "${T[@]}" rm --purge Forum && out_has "deleted" &&
    run 0 "${T[@]}" list --deleted && out_has "(deleted)" && out_lacks Forum &&
    run 4 "${T[@]}" rm --purge Forum && run 4 "${T[@]}" restore Nope
}
check "rm to the trash, restore, list --trash, rm --purge" t_trash
t_trash_usage() { run 2 "${T[@]}" rm && run 2 "${T[@]}" restore && run 2 "${T[@]}" restore a b &&
  run 2 "${T[@]}" list --trash --deleted && run 2 "${T[@]}" --trash-days x list &&
  run 2 "${T[@]}" --trash-days 36501 list && run 2 "${T[@]}" rm --purge; }
check "trash: bad command lines exit 2" t_trash_usage

SK="" # the account's Secret Key, from its Emergency Kit
# Device 1 trashes an item while device 2 edits it: after both sync, the item
# is in the trash on both, with the edit; restored, the edit is there.
t_trash_two_devices() {
  run 0 "${T[@]}" "${SERVER[@]}" register ada@example.org &&
    run 0 "${T[@]}" kit && SK=$(grep -o 'ZK1-[0-9A-Z-]*' "$TMP/out") &&
    ZKVAULT_SECRET_KEY=$SK run 0 "${U[@]}" "${SERVER[@]}" login ada@example.org &&
    run 0 "${T[@]}" rm Mail && run 0 "${T[@]}" sync &&
    run 0 "${U[@]}" edit Mail -u lovelace && run 0 "${U[@]}" sync &&
    run 0 "${U[@]}" list --trash && out_has Mail && run 0 "${U[@]}" list && out_lacks Mail &&
    run 0 "${T[@]}" sync && run 0 "${T[@]}" list --trash && out_has Mail &&
    run 0 "${T[@]}" restore Mail && run 0 "${T[@]}" get Mail --field username && out_is lovelace &&
    run 0 "${T[@]}" sync && run 0 "${U[@]}" sync && run 0 "${U[@]}" get Mail --field username &&
    out_is lovelace
}
check "trash vs edit on two devices: both kept, through sync" t_trash_two_devices

# ---- TOTP ------------------------------------------------------------------------------
t_totp() {
  runin "otpauth://totp/Bank:ada?secret=$RFC_SECRET&digits=8&issuer=Bank"$'\n' 0 "${T[@]}" add Bank --totp &&
    run 0 "${T[@]}" totp Bank --time 59 && out_is 94287082 && err_has "valid for 1 more second$" &&
    run 0 "${T[@]}" totp Bank --time 1111111111 && out_is 14050471 && err_has "valid for 29 more seconds" &&
    run 0 "${T[@]}" get Bank && out_has "totp: \*\*\*\*\*\*\*\* (hidden" && out_has "zkvault totp" &&
    runin "$RFC_SECRET"$'\n' 0 "${T[@]}" edit Mail --totp && run 0 "${T[@]}" totp Mail --time 59 && out_is 287082 &&
    run 0 "${T[@]}" totp Mail && [[ $(cat "$TMP/out") =~ ^[0-9]{6}$ ]]
}
check "totp: RFC 6238 codes from an otpauth URI and a bare secret" t_totp
t_totp_bad() {
  run 4 "${T[@]}" totp Nope && run 4 "${T[@]}" totp Forum2 ;
  run 4 "${T[@]}" totp "Ärzte Berlin" && err_has "no TOTP field" &&
    run 2 "${T[@]}" totp && run 2 "${T[@]}" totp Bank --time x && run 2 "${T[@]}" totp Bank extra &&
    runin $'not base32!\n' 2 "${T[@]}" add Bad --totp && err_has "not a TOTP secret" &&
    runin $'otpauth://hotp/x?secret=GEZDGNBV\n' 2 "${T[@]}" add Bad --totp && run 0 "${T[@]}" list && out_lacks Bad
}
check "totp: unknown item or no TOTP field exits 4, bad secrets exit 2" t_totp_bad

# ---- JSON without secrets ----------------------------------------------------------------
t_json_safe() {
  local secret
  for cmd in "list --json" "search ada --json" "get Mail --json" "list --trash --json" "list --deleted --json"; do
    # shellcheck disable=SC2086
    run 0 "${T[@]}" $cmd || return 1
    for secret in hunter2 first-old-secret second-secret "$RFC_SECRET" 'Xk#9vQ'; do
      out_lacks "$secret" || { echo "  in: $cmd"; return 1; }
    done
    python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$TMP/out" || return 1
  done
  run 0 "${T[@]}" get Mail --json && out_has '"hidden":true' && out_lacks '"history"' &&
    run 0 "${T[@]}" get Mail --json --reveal && out_has hunter2 && out_has first-old-secret &&
    run 0 "${T[@]}" list --json --reveal && out_has hunter2 && out_has '"history"' &&
    run 2 "${T[@]}" list --reveal && run 2 "${T[@]}" get Mail --reveal && run 2 "${T[@]}" search x --reveal
}
check "--json hides hidden values and history unless --reveal" t_json_safe

# ---- Unicode search ---------------------------------------------------------------------
t_unicode_search() {
  run 0 "${T[@]}" search "ärzte" && out_has "Ärzte Berlin" && run 0 "${T[@]}" search "ÄRZTE" &&
    out_has "Ärzte Berlin" && run 0 "${T[@]}" search "praxis" && out_has "Ärzte" &&
    run 0 "${T[@]}" search "arzte" && out_lacks "Ärzte Berlin" && run 2 "${T[@]}" search --trash x
}
check "search folds case and normalises Unicode" t_unicode_search

# ---- audit ------------------------------------------------------------------------------
make_breach_file() {
  python3 - "$1" <<'PY'
import hashlib, os, sys
lines = {hashlib.sha1(b"hunter2").hexdigest().upper(): 17043}
for _ in range(5000):
    lines[os.urandom(20).hex().upper()] = 1
with open(sys.argv[1], "w", newline="") as f:
    for h in sorted(lines):
        f.write(f"{h}:{lines[h]}\r\n")
PY
}
t_audit() {
  make_breach_file "$TMP/pwned.txt" &&
    runin $'hunter2\n' 0 "${T[@]}" add Forum -s password &&
    run 0 "${T[@]}" audit --breach-file "$TMP/pwned.txt" && out_has "Mail / password: weak" &&
    out_has "reused by 1 other" && out_has "breached (seen 17043 times)" && out_has "2 breached" &&
    out_lacks hunter2 &&
    run 0 "${T[@]}" audit --json --breach-file "$TMP/pwned.txt" && out_lacks hunter2 &&
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["summary"]["breached"] == 2 and r["summary"]["reused"] == 2, r["summary"]' "$TMP/out" &&
    run 0 "${T[@]}" audit && out_lacks breached
}
check "audit: weak, reused and breached (offline file) passwords, no values" t_audit
t_audit_bad() {
  printf 'not a hash\n' >"$TMP/bad.txt" &&
    run 4 "${T[@]}" audit --breach-file "$TMP/missing.txt" && err_has "cannot read the breach file" &&
    run 1 "${T[@]}" audit --breach-file "$TMP/bad.txt" && err_has "malformed line at byte 0" &&
    run 2 "${T[@]}" audit --old-days x && run 2 "${T[@]}" audit extra
}
check "audit: missing breach file exits 4, malformed 1, bad options 2" t_audit_bad

# ---- clipboard ---------------------------------------------------------------------------
# A fake xclip: the clipboard is the file $TMP/clipboard.
mkdir -p "$TMP/bin"
cat >"$TMP/bin/xclip" <<EOS
#!/bin/sh
case " \$* " in
  *" -in "*) cat >"$TMP/clipboard" ;;
  *" -out "*) cat "$TMP/clipboard" 2>/dev/null ;;
  *) exit 1 ;;
esac
EOS
chmod +x "$TMP/bin/xclip"
CLIP_ENV=(env -u WAYLAND_DISPLAY -u ZKVAULT_CLIPBOARD DISPLAY=:99 PATH="$TMP/bin:$PATH")

t_clip() {
  run 0 "${T[@]}" get Mail --field password && local value && value=$(cat "$TMP/out") &&
    { "${CLIP_ENV[@]}" "$VAULT" "${T[@]}" clip Mail --timeout 2 >"$TMP/out" 2>"$TMP/err" & } &&
    local pid=$! i &&
    for i in $(seq 50); do [[ -s "$TMP/clipboard" ]] && break; sleep 0.1; done &&
    [[ $(cat "$TMP/clipboard") == "$value" ]] && wait $pid && err_has "clipboard cleared" &&
    [[ ! -s "$TMP/clipboard" ]]
}
check "clip: copies the password, clears it after the timeout" t_clip
t_clip_changed() {
  { "${CLIP_ENV[@]}" "$VAULT" "${T[@]}" clip Mail username --timeout 2 >"$TMP/out" 2>"$TMP/err" & } &&
    local pid=$! i &&
    for i in $(seq 50); do [[ $(cat "$TMP/clipboard" 2>/dev/null) == lovelace ]] && break; sleep 0.1; done &&
    [[ $(cat "$TMP/clipboard") == lovelace ]] && printf 'copied by the user' >"$TMP/clipboard" &&
    wait $pid && err_has "changed since" && [[ $(cat "$TMP/clipboard") == "copied by the user" ]]
}
check "clip: a clipboard changed since is left alone" t_clip_changed
t_clip_totp_env() {
  rm -f "$TMP/clipboard" &&
    ZKVAULT_CLIPBOARD="cat > '$TMP/clipboard'" run 0 "${T[@]}" clip Bank totp --timeout 0 &&
    [[ $(cat "$TMP/clipboard") =~ ^[0-9]{8}$ ]]
}
check "clip: a TOTP field copies its code; ZKVAULT_CLIPBOARD names the tool" t_clip_totp_env
t_clip_bad() {
  env -u DISPLAY -u WAYLAND_DISPLAY -u ZKVAULT_CLIPBOARD "$VAULT" "${T[@]}" clip Mail >"$TMP/out" 2>"$TMP/err"
  [[ $? -eq 9 ]] && err_has "no clipboard" &&
    ZKVAULT_CLIPBOARD="cat >/dev/null" run 2 "${T[@]}" clip Mail &&
    err_has "ZKVAULT_CLIPBOARD_PASTE" &&
    "${CLIP_ENV[@]}" "$VAULT" "${T[@]}" clip Nope >/dev/null 2>&1; [[ $? -eq 4 ]] &&
    "${CLIP_ENV[@]}" "$VAULT" "${T[@]}" clip Mail nofield >/dev/null 2>&1; [[ $? -eq 4 ]] &&
    run 2 "${T[@]}" clip && run 2 "${T[@]}" clip Mail --timeout x && run 2 "${T[@]}" clip a b c
}
check "clip: no clipboard exits 9, unknown item or field 4, bad usage 2" t_clip_bad

# ---- shell ------------------------------------------------------------------------------
t_shell() {
  runin $'list\nadd Notes -t note --note "in the shell"\nget Notes --field note\nsearch \'in the\'\nlist --store x\nfrobnicate\nexit\nlist\n' \
    0 "${T[@]}" shell && out_has "^in the shell$" && out_has "note *Notes" &&
    err_has "in the shell, the store" && err_has "unknown command 'frobnicate'" && err_has "\[exit 2\]" &&
    [[ $(grep -c "Mail" "$TMP/out") -eq 1 ]] # the list after `exit` never ran
}
check "shell: one unlock, commands line by line, global options fixed" t_shell
t_shell_idle() {
  { echo list; sleep 2; echo list; } | "$VAULT" "${T[@]}" shell --lock-after 1s >"$TMP/out" 2>"$TMP/err"
  [[ $? -eq 0 ]] && err_has "locked (idle)" && [[ $(grep -c Mail "$TMP/out") -eq 1 ]] &&
    err_has "no terminal to read the password"
}
check "shell: locks after the idle time, the next command needs the password" t_shell_idle
t_shell_bad() { run 2 "${T[@]}" shell extra && run 2 "${T[@]}" shell --lock-after x &&
  ZKVAULT_PASSWORD=wrong run 3 "${T[@]}" shell; }
check "shell: bad usage exits 2, wrong password 3" t_shell_bad

# ---- logout, delete-account --------------------------------------------------------------
t_logout() {
  run 0 "${U[@]}" logout && out_has "logged out" && ! grep -q ada@example.org "$TMP/u.db.conf" &&
    run 2 "${U[@]}" sync && err_has "no account email" && run 0 "${U[@]}" list && out_has Mail &&
    ZKVAULT_SECRET_KEY=$SK run 0 "${U[@]}" "${SERVER[@]}" login ada@example.org &&
    run 0 "${U[@]}" sync &&
    run 2 "${U[@]}" logout extra && run 4 --store "$TMP/none.db" logout
}
check "logout forgets the account here; the vault stays" t_logout
t_delete_account() {
  run 0 --store "$TMP/v.db" init "${FLOOR[@]}" &&
    run 0 --store "$TMP/v.db" "${SERVER[@]}" register carol@example.org &&
    run 0 --store "$TMP/v.db" kit && local sk && sk=$(grep -o 'ZK1-[0-9A-Z-]*' "$TMP/out") &&
    runin $'no\n' 3 --store "$TMP/v.db" delete-account && err_has "nothing was deleted" &&
    ZKVAULT_PASSWORD=wrong run 3 --store "$TMP/v.db" delete-account --yes &&
    run 0 --store "$TMP/v.db" delete-account --yes && out_has "account deleted" &&
    ZKVAULT_SECRET_KEY=$sk run 3 --store "$TMP/w.db" "${SERVER[@]}" login carol@example.org &&
    run 0 "${T[@]}" sync && run 2 "${T[@]}" delete-account extra
}
check "delete-account: asks, checks the password, deletes here and on the server" t_delete_account

# ---- passphrases -----------------------------------------------------------------------
t_words() {
  run 0 generate --words 6 -n 50 && [[ $(wc -l <"$TMP/out") -eq 50 ]] &&
    [[ $(tr -- '-' '\n' <"$TMP/out" | sort -u | wc -l) -gt 250 ]] &&
    run 0 generate --help && out_has "7,776" && out_has "CC BY 3.0"
}
check "generate --words: the EFF long list (7,776 words)" t_words

echo "cli_daily: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
