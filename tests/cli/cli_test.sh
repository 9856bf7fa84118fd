#!/usr/bin/env bash
# End-to-end tests of the `zkvault` command-line app against an embedded server.
# Usage: cli_test.sh VAULT_BINARY TMP_DIR [VAULTD_BINARY]   (ctest "cli")
# With VAULTD_BINARY, also syncs over HTTP with a vaultd on loopback.
# Argon2id always at the floor (--kdf-ops 2 --kdf-mem 19922944), never less.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VAULT=$(realpath "$1")
SAMPLES=$(realpath "$(dirname "$0")/../vectors/interop")
TMP=${2:-$(mktemp -d)}
VAULTD=${3:+$(realpath "$3")}
rm -rf "$TMP"
mkdir -p "$TMP"
cd "$TMP" || exit 1

source "$HERE/lib.sh"

export ZKVAULT_PASSWORD=$PW
A=(--store "$TMP/a.db")
B=(--store "$TMP/b.db")
SERVER=(--server-db "$TMP/server.db")

# ---- help, usage, exit codes -------------------------------------------------
t_help() { run 0 --help && out_has "Exit codes" && out_has "7 refused for integrity" &&
  out_has "8 import refused" &&
  run 0 --version && out_has "^zkvault 0.1.0$" && run 0 add --help && out_has "--generate"; }
check "help lists commands and exit codes" t_help
t_usage() { run 2 && err_has "no command" && run 2 frobnicate && err_has "unknown command 'frobnicate'" &&
  run 2 list extra && run 2 get && run 2 --password-fd x list; }
check "bad command lines exit 2" t_usage
t_no_store() { run 4 "${A[@]}" list && err_has "no vault at" && [[ ! -e "$TMP/a.db" ]]; }
check "no store: exit 4, nothing created" t_no_store

# ---- generate ----------------------------------------------------------------
t_gen_default() { run 0 generate && [[ $(cat "$TMP/out") =~ ^[!-~]{20}$ ]]; }
check "generate: 20 printable characters by default" t_gen_default
t_gen_digits() { run 0 generate --length 64 --classes digits && [[ $(cat "$TMP/out") =~ ^[0-9]{64}$ ]]; }
check "generate: one class only" t_gen_digits
t_gen_every_class() {
  run 0 generate -l 4 -c lower,upper,digits,symbols -n 200 || return 1
  while read -r pw; do
    [[ $pw =~ [a-z] && $pw =~ [A-Z] && $pw =~ [0-9] && $pw =~ [^a-zA-Z0-9] && ${#pw} -eq 4 ]] ||
      { echo "  '$pw' lacks a class"; return 1; }
  done <"$TMP/out"
  [[ $(sort -u "$TMP/out" | wc -l) -gt 150 ]]
}
check "generate: every chosen class appears, even at length 4" t_gen_every_class
t_gen_words() { run 0 generate --words 6 --separator . && [[ $(cat "$TMP/out") =~ ^[a-z-]{3,9}(\.[a-z-]{3,9}){5}$ ]]; }
check "generate: passphrase of 6 words" t_gen_words
t_gen_bad() { run 2 generate --length 3 && run 2 generate --classes lower,emoji && run 2 generate --words 0 &&
  run 2 generate -l 4 -c lower,upper,digits,symbols,lower extra; }
check "generate: bad parameters exit 2" t_gen_bad

# ---- a local vault -------------------------------------------------------------
t_init() { run 0 "${A[@]}" init "${FLOOR[@]}" && out_has "created vault" && [[ -f "$TMP/a.db" ]] &&
  run 5 "${A[@]}" init "${FLOOR[@]}" && err_has "already holds a vault"; }
check "init creates, a second init exits 5" t_init
t_init_weak() { run 7 --store "$TMP/weak.db" init --kdf-ops 2 --kdf-mem 19922943; }
check "init below the Argon2id floor exits 7" t_init_weak

t_add() {
  run 0 "${A[@]}" add GitHub -u ada --url https://github.com -g password --length 24 --tag work &&
    [[ $(cat "$TMP/out") =~ ^[0-9a-f]{32}$ ]] && cp "$TMP/out" "$TMP/github.id" &&
    run 0 "${A[@]}" add Shopping -t note --note "milk, eggs" &&
    printf 's3cret-pin\n' | "$VAULT" "${A[@]}" add Bank -s pin >"$TMP/out" 2>"$TMP/err"
}
check "add: fields, generated password, secret from stdin" t_add
t_get() {
  run 0 "${A[@]}" get github && out_has "username: ada" && out_has "password: \*\*\*\*\*\*\*\* (hidden" &&
    out_lacks "s3cret" && run 0 "${A[@]}" get Bank --field pin && out_is "s3cret-pin" &&
    run 0 "${A[@]}" get GitHub --field password && [[ $(cat "$TMP/out") =~ ^[!-~]{24}$ ]] &&
    run 0 "${A[@]}" get "$(head -c 6 "$TMP/github.id")" --json && out_has '"title":"GitHub"' &&
    run 0 "${A[@]}" get Bank --show && out_has "pin: s3cret-pin"
}
check "get: by title, id prefix; hidden masked unless asked" t_get
t_get_missing() { run 4 "${A[@]}" get Nope && err_has "no item 'Nope'" && run 4 "${A[@]}" get GitHub --field nope; }
check "get: unknown item or field exits 4" t_get_missing
t_list() {
  run 0 "${A[@]}" list && [[ $(cut -c11- "$TMP/out" | tr -s ' ') == $'login Bank\nlogin GitHub\nnote Shopping' ]] &&
    run 0 "${A[@]}" list --json && python3 -c 'import json,sys; assert len(json.load(open(sys.argv[1]))) == 3' "$TMP/out"
}
check "list: table ordered by title, and JSON" t_list
t_search() { run 0 "${A[@]}" search MILK && out_has Shopping && out_lacks GitHub &&
  run 0 "${A[@]}" search s3cret && out_is ""; }
check "search: visible values only" t_search

t_wrong_pw() { ZKVAULT_PASSWORD=wrong run 3 "${A[@]}" list && err_has "cannot unlock" && out_is ""; }
check "wrong password exits 3 with the library's message" t_wrong_pw
t_pw_fd() { (unset ZKVAULT_PASSWORD; "$VAULT" "${A[@]}" --password-fd 3 list 3<<<"$PW" >"$TMP/out" 2>"$TMP/err") && out_has GitHub; }
check "--password-fd reads the password" t_pw_fd
# Abuse case A7 (docs/security.md): while zkvault waits for its password on a
# FIFO, the kernel's view of the process shows a core size limit of 0/0.
t_core() {
  local fifo="$TMP/pw.fifo" pid limits
  rm -f "$fifo" && mkfifo "$fifo" && exec 4<>"$fifo" || return 1
  (unset ZKVAULT_PASSWORD; exec "$VAULT" "${A[@]}" --password-fd 3 list 3<&4 >"$TMP/out" 2>"$TMP/err") &
  pid=$!
  for _ in $(seq 100); do grep -q zkvault "/proc/$pid/cmdline" 2>/dev/null && break; sleep 0.05; done
  sleep 0.2
  limits=$(grep "Max core file size" "/proc/$pid/limits")
  echo "$PW" >&4
  wait "$pid"
  exec 4>&-
  [[ $limits =~ size[[:space:]]+0[[:space:]]+0[[:space:]] ]] || { echo "  $limits"; return 1; }
  out_has GitHub
}
check "A7: core dumps are disabled" t_core
t_no_pw() { (unset ZKVAULT_PASSWORD; setsid -w "$VAULT" "${A[@]}" list </dev/null >"$TMP/out" 2>"$TMP/err"; [[ $? -eq 2 ]]) &&
  err_has "no terminal to read the password from"; }
check "no terminal and no password source exits 2" t_no_pw
t_no_progress() { run 0 "${A[@]}" list && out_lacks "deriving"; }
check "no progress text when stdout is not a terminal" t_no_progress
t_progress_tty() {
  command -v script >/dev/null || { echo "  (script(1) missing: skipped)"; return 0; }
  script -qec "'$VAULT' --store '$TMP/a.db' list" /dev/null >"$TMP/out" 2>&1 </dev/null && out_has "deriving key"
}
check "progress text when stdout is a terminal" t_progress_tty

t_edit() {
  printf 'new-pin\n' | "$VAULT" "${A[@]}" edit Bank -s pin --tag money >"$TMP/out" 2>"$TMP/err" &&
    run 0 "${A[@]}" get Bank --field pin && out_is "new-pin" &&
    run 0 "${A[@]}" history Bank --show && out_has "pin: s3cret-pin" &&
    run 0 "${A[@]}" history Bank && out_has "pin: \*\*\*\*\*\*\*\*" && out_lacks "s3cret" &&
    run 0 "${A[@]}" edit Shopping --title Groceries --remove-field note -f list=bread &&
    run 0 "${A[@]}" get Groceries && out_has "list: bread" && out_lacks "note:" &&
    run 4 "${A[@]}" edit Groceries --untag nope
}
check "edit: secrets go to history; rename, fields, tags" t_edit
t_rm() { run 0 "${A[@]}" rm Groceries && out_has "to the trash" && run 0 "${A[@]}" list &&
  out_lacks Groceries && run 0 "${A[@]}" list --trash && out_has Groceries &&
  run 0 "${A[@]}" list --deleted && out_has "Groceries (in the trash)" && run 4 "${A[@]}" rm Groceries; }
check "rm moves to the trash (tests/cli/daily_test.sh: restore, purge)" t_rm
t_plaintext() { ! grep -aq -e "s3cret" -e "new-pin" -e "GitHub" "$TMP/a.db"; }
check "the store holds no plaintext" t_plaintext

XPW='export pass phrase'
t_export_import() {
  ZKVAULT_EXPORT_PASSWORD=$XPW run 0 "${A[@]}" "${FLOOR[@]}" export "$TMP/export.zkv" &&
    [[ $(stat -c %a "$TMP/export.zkv") == 600 ]] && ! grep -aq -e new-pin -e GitHub "$TMP/export.zkv" &&
    ZKVAULT_EXPORT_PASSWORD=$XPW run 5 "${A[@]}" "${FLOOR[@]}" export "$TMP/export.zkv" && err_has "must not exist" &&
    run 0 --store "$TMP/c.db" init "${FLOOR[@]}" &&
    ZKVAULT_EXPORT_PASSWORD=wrong run 3 --store "$TMP/c.db" import --format zkvault-encrypted "$TMP/export.zkv" &&
    ZKVAULT_EXPORT_PASSWORD=$XPW run 0 --store "$TMP/c.db" import --format zkvault-encrypted "$TMP/export.zkv" &&
    out_is "imported 2, duplicates 0, skipped 0" &&
    run 0 --store "$TMP/c.db" get Bank --field pin && out_is "new-pin" &&
    ZKVAULT_EXPORT_PASSWORD=$XPW run 0 --store "$TMP/c.db" import --format zkvault-encrypted "$TMP/export.zkv" &&
    out_is "imported 0, duplicates 2, skipped 0"
}
check "export: encrypted by default (mode 600, no overwrite), imported back once" t_export_import
t_export_plain() {
  run 0 "${A[@]}" export --format keepass-xml "$TMP/export.xml" && err_has "PLAINTEXT" &&
    [[ $(stat -c %a "$TMP/export.xml") == 600 ]] && grep -q new-pin "$TMP/export.xml" &&
    run 0 "${A[@]}" export --format bitwarden-json && out_has '"encrypted":[[:space:]]*false' && err_has "PLAINTEXT" &&
    run 0 "${A[@]}" export --format csv - && out_has "^title,type,tags" &&
    run 0 --store "$TMP/k.db" init "${FLOOR[@]}" &&
    run 0 --store "$TMP/k.db" import --format keepass-xml "$TMP/export.xml" && out_is "imported 2, duplicates 0, skipped 0" &&
    run 0 --store "$TMP/k.db" get Bank --field pin && out_is "new-pin"
}
check "export: KeePass XML, Bitwarden JSON, CSV are plaintext and warn; XML imports back" t_export_plain
t_import_formats() {
  run 0 --store "$TMP/m.db" init "${FLOOR[@]}" &&
    run 0 --store "$TMP/m.db" import --format chrome-csv "$SAMPLES/chrome.csv" && out_is "imported 5, duplicates 1, skipped 0" &&
    run 0 --store "$TMP/m.db" get bücher.de --field password && out_is "日本語パスワード" &&
    run 0 --store "$TMP/m.db" import --dry-run --format bitwarden-json "$SAMPLES/bitwarden.json" &&
    out_has "would import 5, duplicates 1, skipped 1" && out_has "item 7 .*skipped .*Old forum — in the trash" &&
    run 0 --store "$TMP/m.db" list && out_lacks "Visa" &&
    run 0 --store "$TMP/m.db" import --dry-run --json --format lastpass-csv "$SAMPLES/lastpass.csv" &&
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["imported"] == 3 and r["dry_run"]' "$TMP/out" &&
    "$VAULT" --store "$TMP/m.db" import --format csv - <"$SAMPLES/generic.csv" >"$TMP/out" 2>"$TMP/err" &&
    out_is "imported 2, duplicates 0, skipped 0" && run 0 --store "$TMP/m.db" get Door --field "Server room" && out_is "B2"
}
check "import: Chrome CSV, Bitwarden JSON dry run, --json report, CSV from stdin" t_import_formats
t_import_bad() {
  run 0 --store "$TMP/m.db" list && cp "$TMP/out" "$TMP/before" &&
    run 8 --store "$TMP/m.db" import --format chrome-csv "$SAMPLES/malformed.csv" &&
    err_has "line 3: 3 values, but the header has 5 columns" && err_has "line 5: 6 values" &&
    err_has "nothing was imported" &&
    run 8 --store "$TMP/m.db" import --format chrome-csv "$SAMPLES/unterminated.csv" && err_has "line 3: a quoted value is never closed" &&
    run 8 --store "$TMP/m.db" import --format firefox-csv "$SAMPLES/chrome.csv" && err_has 'no "httprealm" column' &&
    run 8 --store "$TMP/m.db" import --format bitwarden-json "$SAMPLES/chrome.csv" && err_has "line 1: malformed JSON" &&
    run 8 --store "$TMP/m.db" import --dry-run --format chrome-csv "$SAMPLES/malformed.csv" && err_has "line 5:" &&
    run 2 --store "$TMP/m.db" import --format pwsafe "$SAMPLES/chrome.csv" && err_has "unknown import format 'pwsafe'" &&
    err_has "lastpass-csv" && run 2 --store "$TMP/m.db" import "$SAMPLES/chrome.csv" && err_has "needs --format" &&
    run 2 --store "$TMP/m.db" export --format chrome-csv && err_has "unknown export format" &&
    run 4 --store "$TMP/m.db" import --format csv "$TMP/nope.csv" &&
    run 0 --store "$TMP/m.db" list && cmp -s "$TMP/out" "$TMP/before"
}
check "import: malformed (8, lines named), wrong format (8), unknown format (2), missing file (4); nothing changes" t_import_bad
t_import_help() { run 0 import --help && out_has "1password-csv" && out_has "dry-run" &&
  run 0 export --help && out_has "PLAINTEXT" && out_has "zkvault-encrypted"; }
check "import/export --help list the formats" t_import_help

# ---- account and sync through an embedded server --------------------------------
t_sync_needs_server() { run 2 "${A[@]}" sync && err_has "no account email"; }
check "sync without an account exits 2" t_sync_needs_server
t_register() { run 0 "${A[@]}" "${SERVER[@]}" register ada@example.org && out_has "registered ada@example.org" &&
  out_has "Emergency Kit" &&
  [[ -f "$TMP/server.db.pepper" && $(stat -c %a "$TMP/server.db.pepper") == 600 ]] &&
  grep -q ada@example.org "$TMP/a.db.conf"; }
check "register remembers the email and the server" t_register
SK=""
t_kit() { run 0 "${A[@]}" kit && out_has "Email:      ada@example.org" &&
  SK=$(grep -o 'ZK1-[0-9A-Z-]*' "$TMP/out") && [[ ${#SK} -eq 38 ]] &&
  ! grep -aq -- "$SK" "$TMP/server.db" &&
  run 0 "${A[@]}" kit --qr && out_has "$SK" && out_has $'\u2588' &&
  ZKVAULT_PASSWORD=wrong run 3 "${A[@]}" kit && out_is ""; }
check "kit prints the Emergency Kit (text and QR); the server never sees the Secret Key" t_kit
t_login() {
  local bad=${SK%?}X # one character changed: the checksum catches it
  [[ ${SK: -1} != X ]] || bad=${SK%?}Y
  (unset ZKVAULT_SECRET_KEY; setsid -w "$VAULT" "${B[@]}" "${SERVER[@]}" login ada@example.org \
    </dev/null >"$TMP/out" 2>"$TMP/err"; [[ $? -eq 2 ]]) && err_has "Secret Key" &&
    ZKVAULT_SECRET_KEY=$bad run 1 "${B[@]}" "${SERVER[@]}" login ada@example.org &&
    err_has "checksum" &&
    ZKVAULT_SECRET_KEY=$SK run 3 "${B[@]}" "${SERVER[@]}" login ada@example.org --password-fd 3 3<<<"wrong" &&
    run 0 "${B[@]}" "${SERVER[@]}" --secret-key-fd 4 login ada@example.org 4<<<"$SK" &&
    out_has "2 items" && run 0 "${B[@]}" get Bank --field pin && out_is "new-pin"
}
check "login on a new device asks for the Secret Key (fd, env, never argv)" t_login
t_sync() {
  run 0 "${B[@]}" edit GitHub -u lovelace && run 0 "${B[@]}" sync && out_has "synced" &&
    run 0 "${A[@]}" add Wifi -t note --note "guest network" &&
    run 0 "${A[@]}" sync && run 0 "${A[@]}" get GitHub --field username && out_is "lovelace" &&
    run 0 "${B[@]}" sync && run 0 "${B[@]}" get Wifi --field note && out_is "guest network"
}
check "sync merges edits from both devices" t_sync
t_server_blind() { ! grep -aq -e lovelace -e new-pin -e "guest network" -e ada@example.org "$TMP/server.db"; }
check "the server database holds no plaintext and no email" t_server_blind
t_passwd() {
  (unset ZKVAULT_PASSWORD; printf '%s\n%s\n' "$PW" "new master pw" |
    "$VAULT" "${A[@]}" passwd --password-fd 0 >"$TMP/out" 2>"$TMP/err") && out_has "master password changed" &&
    run 3 "${A[@]}" list && ZKVAULT_PASSWORD="new master pw" run 0 "${A[@]}" list && out_has GitHub &&
    ZKVAULT_SECRET_KEY=$SK run 3 --store "$TMP/d.db" "${SERVER[@]}" login ada@example.org &&
    ZKVAULT_SECRET_KEY=$SK ZKVAULT_PASSWORD="new master pw" run 0 --store "$TMP/d.db" "${SERVER[@]}" \
      login ada@example.org
}
check "passwd changes the password here and on the server" t_passwd
# Issue 13, finding 3: B still holds the old password after A's passwd.
t_passwd_elsewhere() {
  run 0 "${B[@]}" add Offline -t note --note "kept" &&
    run 3 "${B[@]}" sync && err_has "changed on another device" &&
    ZKVAULT_PASSWORD="new master pw" run 0 "${B[@]}" sync && err_has "changed on another device" &&
    out_has "synced" &&
    ZKVAULT_PASSWORD="new master pw" run 0 "${A[@]}" sync &&
    ZKVAULT_PASSWORD="new master pw" run 0 "${A[@]}" get Offline --field note && out_is "kept" &&
    run 3 "${B[@]}" list && ZKVAULT_PASSWORD="new master pw" run 0 "${B[@]}" list && out_has Offline
}
check "password changed elsewhere: the old one says so, the new one syncs and re-wraps" t_passwd_elsewhere

# ---- device linking ----------------------------------------------------------------
PW2="new master pw"
DEV=(--store "$TMP/e.db")

# link_pair ANSWER SHOW_ARGS... -- JOIN_STORE: runs `link show` on A and
# `link join` on a new store; the show side gets ANSWER once both print a code.
link_pair() {
  local answer=$1 store=$2
  rm -f "$TMP/answer" && mkfifo "$TMP/answer" && exec 7<>"$TMP/answer"
  ZKVAULT_PASSWORD=$PW2 setsid -w "$VAULT" "${A[@]}" link show --name laptop <"$TMP/answer" \
    >"$TMP/show.out" 2>&1 &
  local show=$! i
  for i in $(seq 300); do grep -q "^link payload:" "$TMP/show.out" && break; sleep 0.1; done
  local payload
  payload=$(sed -n 's/^link payload: //p' "$TMP/show.out")
  ZKVAULT_PASSWORD="device pw" setsid -w "$VAULT" --store "$store" "${SERVER[@]}" "${FLOOR[@]}" \
    link join "$payload" </dev/null >"$TMP/join.out" 2>&1 &
  local join=$!
  for i in $(seq 600); do
    grep -q "^code:" "$TMP/show.out" && grep -q "^code:" "$TMP/join.out" && break
    sleep 0.1
  done
  same_code=0
  [[ "$(grep "^code:" "$TMP/show.out")" == "$(grep "^code:" "$TMP/join.out")" ]] && same_code=1
  echo "$answer" >&7
  wait $show
  show_status=$?
  wait $join
  join_status=$?
  exec 7>&-
}

t_link() {
  link_pair y "$TMP/e.db"
  [[ $same_code -eq 1 && $show_status -eq 0 && $join_status -eq 0 ]] ||
    { echo "  show $show_status join $join_status"; cat "$TMP/show.out" "$TMP/join.out" | head -20; return 1; }
  grep -q 'linked "laptop"' "$TMP/show.out" && grep -q "this device now holds the vault" "$TMP/join.out" &&
    [[ $(stat -c %a "$TMP/e.db.devkey") == 600 ]] &&
    ZKVAULT_PASSWORD="device pw" run 0 "${DEV[@]}" get Bank --field pin && out_is "new-pin"
}
check "link show / join: same code on both sides, the new device reads the vault" t_link
t_linked_device() {
  ZKVAULT_PASSWORD="wrong" run 3 "${DEV[@]}" list &&
    ZKVAULT_PASSWORD=$PW2 run 0 "${A[@]}" devices && out_has "laptop" &&
    ZKVAULT_PASSWORD="device pw" run 0 "${DEV[@]}" devices && out_has "^\* .*laptop" &&
    ZKVAULT_PASSWORD="device pw" run 0 "${DEV[@]}" edit GitHub -u babbage &&
    ZKVAULT_PASSWORD="device pw" run 0 "${DEV[@]}" sync &&
    ZKVAULT_PASSWORD=$PW2 run 0 "${A[@]}" sync && ZKVAULT_PASSWORD=$PW2 run 0 "${A[@]}" get GitHub --field username &&
    out_is "babbage"
}
check "the linked device unlocks with its own password and syncs" t_linked_device
t_link_refused() {
  link_pair n "$TMP/f.db"
  [[ $same_code -eq 1 && $show_status -eq 3 && $join_status -ne 0 ]] && grep -q "aborted" "$TMP/show.out" &&
    [[ ! -e "$TMP/f.db.devkey" ]] && ZKVAULT_PASSWORD="device pw" run 4 --store "$TMP/f.db" list
}
check "link: codes not confirmed → nothing is sent" t_link_refused
t_revoke() {
  ZKVAULT_PASSWORD=$PW2 run 0 "${A[@]}" devices --json &&
    local id && id=$(python3 -c 'import json,sys; print([d["id"] for d in json.load(open(sys.argv[1])) if d["name"] == "laptop"][0])' "$TMP/out") &&
    ZKVAULT_PASSWORD=$PW2 run 0 "${A[@]}" revoke "$id" && out_has "revoked" &&
    ZKVAULT_PASSWORD="device pw" run 3 "${DEV[@]}" sync &&
    ZKVAULT_PASSWORD=$PW2 run 0 "${A[@]}" sync && ZKVAULT_PASSWORD=$PW2 run 0 "${A[@]}" devices && out_lacks laptop
}
check "revoke: the revoked device is refused, the others keep working" t_revoke
t_link_reverse() {
  ZKVAULT_PASSWORD="desk pw" setsid -w "$VAULT" --store "$TMP/g.db" "${SERVER[@]}" "${FLOOR[@]}" \
    link request </dev/null >"$TMP/req.out" 2>&1 &
  local req=$! i
  for i in $(seq 300); do grep -q "^link payload:" "$TMP/req.out" && break; sleep 0.1; done
  local payload
  payload=$(sed -n 's/^link payload: //p' "$TMP/req.out")
  echo y | ZKVAULT_PASSWORD=$PW2 setsid -w "$VAULT" "${A[@]}" link accept "$payload" --name desktop \
    >"$TMP/acc.out" 2>&1
  local acc_status=$?
  wait $req
  local req_status=$?
  [[ $acc_status -eq 0 && $req_status -eq 0 ]] ||
    { echo "  accept $acc_status request $req_status"; cat "$TMP/acc.out" "$TMP/req.out" | head; return 1; }
  [[ "$(grep "^code:" "$TMP/req.out")" == "$(grep "^code:" "$TMP/acc.out")" ]] &&
    ZKVAULT_PASSWORD="desk pw" run 0 --store "$TMP/g.db" get GitHub --field username && out_is "babbage" &&
    ZKVAULT_PASSWORD=$PW2 run 0 "${A[@]}" devices && out_has desktop
}
check "link request / accept: the new device shows the code (after a key rotation)" t_link_reverse
t_link_usage() { run 2 "${A[@]}" link && run 2 "${A[@]}" link join && run 2 "${A[@]}" link show extra &&
  ZKVAULT_PASSWORD=x run 5 "${A[@]}" "${SERVER[@]}" link join "zkvlink:1/o/x" && err_has "already holds a vault"; }
check "link: bad usage exits 2; joining into a full store exits 5" t_link_usage

# ---- over HTTP with vaultd ----------------------------------------------------------
t_insecure() { run 6 --store "$TMP/h.db" --server http://example.org login x@example.org &&
  err_has "refused insecure connection" && err_has "or --insecure" && ! grep -q VAULT_ "$TMP/err"; }
check "plain http to a non-loopback host is refused (exit 6), naming --insecure" t_insecure
t_cacert() { run 1 --store "$TMP/h.db" --server https://127.0.0.1:1 --cacert "$TMP/no-ca.pem" \
    login x@example.org && err_has "cannot read the CA file" &&
  ZKVAULT_CA_FILE="$TMP/no-ca.pem" run 1 --store "$TMP/h.db" --server https://127.0.0.1:1 \
    login x@example.org && err_has "cannot read the CA file"; }
check "--cacert and ZKVAULT_CA_FILE name the CA bundle for https" t_cacert
t_vaultd() {
  [[ -n "$VAULTD" ]] || { echo "  (no vaultd given: skipped)"; return 0; }
  "$VAULTD" --new-pepper "$TMP/http.pepper" >/dev/null || return 1
  "$VAULTD" --db "$TMP/http.db" --pepper-file "$TMP/http.pepper" --port 0 >"$TMP/vaultd.out" 2>&1 &
  local daemon=$! i port=""
  for i in $(seq 100); do
    port=$(sed -n 's/^vaultd listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$TMP/vaultd.out")
    [[ -n $port ]] && break
    sleep 0.1
  done
  local url="http://127.0.0.1:$port" ok=1
  { [[ -n $port ]] && run 0 --store "$TMP/h1.db" init "${FLOOR[@]}" &&
    run 0 --store "$TMP/h1.db" add Router -t note --note "admin" &&
    run 0 --store "$TMP/h1.db" --server "$url" register http@example.org &&
    run 0 --store "$TMP/h1.db" kit && local sk && sk=$(grep -o 'ZK1-[0-9A-Z-]*' "$TMP/out") &&
    ZKVAULT_SECRET_KEY=$sk run 0 --store "$TMP/h2.db" --server "$url" login http@example.org &&
    run 0 --store "$TMP/h2.db" get Router --field note && out_is "admin" &&
    run 0 --store "$TMP/h2.db" edit Router --note "changed" && run 0 --store "$TMP/h2.db" sync &&
    run 0 --store "$TMP/h1.db" sync && run 0 --store "$TMP/h1.db" get Router --field note &&
    out_is "changed"; } || ok=0
  kill "$daemon" && wait "$daemon"
  [[ $ok -eq 1 ]] || { echo "  vaultd: $(head -3 "$TMP/vaultd.out")"; return 1; }
}
check "register, login and sync over HTTP with vaultd on loopback" t_vaultd

echo "cli: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
