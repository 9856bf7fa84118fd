#!/usr/bin/env bash
# Installs the Debian packages zkvault needs, only those that are missing.
# Safe to run again and again: with everything present it does nothing and
# never touches the network. Usage: scripts/deps.sh [--with-extras]
#   --with-extras  also the tools the extended test and bench suites use
#                  (zbar-tools to decode QR images, PostgreSQL, clang with its
#                  sanitizer and libFuzzer runtimes: libclang-rt-dev is only a
#                  Recommends of clang, which --no-install-recommends skips;
#                  pytest, and setuptools + venv to install the Python binding
#                  as a package without the package index; zsh to test the
#                  zsh completion; keepassxc, whose keepassxc-cli checks the
#                  KeePass XML import and export).
# scdoc builds the man pages (without it the build skips them).
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libsodium-dev libsqlite3-dev libcjson-dev zlib1g-dev
  libcmocka-dev libqrencode-dev libmicrohttpd-dev libcurl4-openssl-dev libpq-dev
  liboath-dev libutf8proc-dev libzxcvbn-dev nettle-dev
  scdoc libxml2-dev
)
if [[ "${1:-}" == "--with-extras" ]]; then
  packages+=(zbar-tools clang libclang-rt-dev postgresql python3-pytest python3-setuptools python3-venv
             zsh keepassxc)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "zkvault: installing missing Debian packages: ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
