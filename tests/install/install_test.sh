#!/usr/bin/env bash
# ctest "install": installs the build to a non-default prefix, moves the tree
# (the .pc files and the CMake package must be relocatable), then builds and
# runs consumers of each installed library: with pkg-config, and with
# find_package for the shared and the static targets.
# Usage: install_test.sh BUILD_DIR TMP_DIR C_COMPILER
set -euo pipefail
build=$1 tmp=$2 cc=$3
src=$(cd "$(dirname "$0")" && pwd)/consumer
rm -rf "$tmp"
mkdir -p "$tmp"
cmake --install "$build" --prefix "$tmp/staged" >"$tmp/install.log"
mv "$tmp/staged" "$tmp/prefix"
prefix=$tmp/prefix

libs=(vault)
[[ -n $(find "$prefix" -name vault-server.pc) ]] && libs+=(vault-server)
PKG_CONFIG_PATH=$(dirname "$(find "$prefix" -name vault.pc)")
export PKG_CONFIG_PATH

fail() { echo "install: $*" >&2; exit 1; }
run_consumer() { # NAME BINARY
  "$2" "$tmp/$1.db" >"$tmp/$1.out" 2>&1 || fail "$1 failed: $(cat "$tmp/$1.out")"
  grep -q '^consumer ok ' "$tmp/$1.out" || fail "$1 printed: $(cat "$tmp/$1.out")"
  echo "install: $1 ok"
}

for lib in "${libs[@]}"; do
  libdir=$(pkg-config --variable=libdir "$lib")
  [[ $(realpath "$libdir") == "$(realpath "$prefix")"/* ]] || fail "$lib.pc points outside the prefix: $libdir"
  defs=()
  [[ $lib == vault-server ]] && defs=(-DZKVAULT_SERVER)
  # shellcheck disable=SC2046
  "$cc" "${defs[@]}" "$src/main.c" -o "$tmp/pc-$lib" $(pkg-config --cflags --libs "$lib") \
    -Wl,-rpath,"$libdir" || fail "pkg-config consumer of $lib does not build"
  run_consumer "pc-$lib" "$tmp/pc-$lib"
  # The library it runs with is the installed one.
  used=$(ldd "$tmp/pc-$lib" | awk -v l="lib$lib.so" 'index($1, l) == 1 {print $3}')
  [[ -n $used && $(realpath "$used") == "$(realpath "$libdir")"/* ]] ||
    fail "pc-$lib does not run with the installed library: ${used:-none}"

  for kind in "" _static; do
    target=zkvault::${lib/-/_}$kind
    dir=$tmp/cmake-$lib$kind
    cmake -S "$src" -B "$dir" -DCMAKE_C_COMPILER="$cc" -DCMAKE_PREFIX_PATH="$prefix" \
      -DZKVAULT_TARGET="$target" -DCMAKE_BUILD_RPATH="$libdir" >"$dir.log" 2>&1 ||
      fail "find_package consumer of $target does not configure: $(tail -20 "$dir.log")"
    cmake --build "$dir" >>"$dir.log" 2>&1 || fail "find_package consumer of $target does not build: $(tail -20 "$dir.log")"
    run_consumer "cmake-$lib$kind" "$dir/consumer"
  done
done
echo "install: all consumers built and ran against $prefix"
