# bash completion for zkvault. The commands and options are read from the
# app's own --help (global and per command), so they never go stale.
_zkvault() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
  local app=${COMP_WORDS[0]} help cmd="" i
  help=$("$app" --help 2>/dev/null) || return 0
  # Global options that take a value: "--store PATH" in the help.
  local takes_value
  takes_value=" $(grep -oE -- '--[a-z-]+ [A-Z]' <<<"$help" | cut -d' ' -f1 | tr '\n' ' ') "
  for ((i = 1; i < COMP_CWORD; i++)); do
    case ${COMP_WORDS[i]} in
      -*) [[ $takes_value == *" ${COMP_WORDS[i]} "* ]] && ((i++)) ;;
      *) cmd=${COMP_WORDS[i]}; break ;;
    esac
  done
  if [[ $takes_value == *" $prev "* ]]; then
    COMPREPLY=($(compgen -f -- "$cur"))
    return 0
  fi
  if [[ $cur == -* ]]; then
    local opts
    opts=$(grep -oE -- '--[a-z][a-z-]*' <<<"$help")
    [[ -n $cmd ]] && opts+=" $("$app" "$cmd" --help 2>/dev/null | grep -oE -- '--[a-z][a-z-]*')"
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  elif [[ -z $cmd ]]; then
    COMPREPLY=($(compgen -W "$(awk '/^  [a-z]/ {print $1}' <<<"$help")" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -o filenames -F _zkvault zkvault
