#!/usr/bin/env bash
# Installs the Debian 12 packages that building and testing rayx need, and nothing else.
# Idempotent: quiet when everything is present; runs `apt-get update` only when something is
# missing. Needs root (or sudo) only in that case.
# `setup.sh fuzz` adds what tools/fuzz.sh needs: clang-14 and its libFuzzer (libclang-rt-14-dev).
set -euo pipefail

packages=(
  build-essential g++ bazel-bootstrap
  libuv1-dev libflatbuffers-dev flatbuffers-compiler libmimalloc-dev librocksdb-dev
  libcli11-dev libgtest-dev libpython3.11-dev libssl-dev
  clang-format-14
  python3-numpy python3-cloudpickle python3-dask python3-distributed
)
if [[ ${1:-} == fuzz ]]; then
  packages+=(clang-14 libclang-rt-14-dev)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} == 0 ]] && exit 0

sudo=()
if [[ $(id -u) != 0 ]]; then
  command -v sudo >/dev/null || { echo "setup.sh: need root to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "setup.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
