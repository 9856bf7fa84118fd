#!/usr/bin/env bash
# ctest "completion": the bash and zsh completions of zkvault offer the app's
# commands, global and per-command options, and files after an option that
# takes a path. They read the app's --help, so this runs the real binary.
# Usage: completion_test.sh ZKVAULT_BINARY COMPLETION_DIR
set -uo pipefail
app=$1 dir=$2
bindir=$(dirname "$app")
fail=0
expect() { # NAME GOT WANTED...
  local name=$1 got=" $2 "; shift 2
  for w in "$@"; do
    [[ $got == *" $w "* ]] || { echo "completion: $name lacks '$w' in:$got" >&2; fail=1; }
  done
}
lacks() { # NAME GOT UNWANTED
  [[ " $2 " != *" $3 "* ]] || { echo "completion: $1 offers '$3'" >&2; fail=1; }
}

bash_complete() { # words... (the last one is being completed)
  PATH="$bindir:$PATH" bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1));
    cd /; _zkvault; echo "${COMPREPLY[*]}"' _ "$dir/zkvault.bash" "$@"
}
expect "bash commands" "$(bash_complete zkvault "")" init add sync link generate
expect "bash prefix" "$(bash_complete zkvault sy)" sync
lacks "bash prefix" "$(bash_complete zkvault sy)" init
expect "bash global options" "$(bash_complete zkvault --s)" --store --server --server-db
expect "bash command after a valued option" "$(bash_complete zkvault --store /tmp/x.db add --g)" --generate
expect "bash path after --store" "$(bash_complete zkvault --store /et)" /etc

if command -v zsh >/dev/null; then
  zsh_complete() {
    PATH="$bindir:$PATH" zsh -fc 'compadd() { [[ $1 == -- ]] && shift; print -r -- "$@" };
      _files() { print -r -- FILES }; words=("${@:2}"); CURRENT=$(($# - 1)); source "$1"' \
      _ "$dir/_zkvault" "$@"
  }
  expect "zsh commands" "$(zsh_complete zkvault "")" init add sync link generate
  expect "zsh options" "$(zsh_complete zkvault add --)" --generate --store
  expect "zsh path after --store" "$(zsh_complete zkvault --store "")" FILES
else
  echo "completion: zsh not installed (scripts/deps.sh --with-extras installs it): zsh part not run" >&2
  fail=1
fi
((fail == 0)) && echo "completion: bash and zsh offer commands, options and paths"
exit $fail
