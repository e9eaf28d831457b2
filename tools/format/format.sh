#!/usr/bin/env bash
# Formats C++ sources in place with clang-format 14 and the checkout's .clang-format: the named
# files (paths relative to the checkout root or absolute), or with none every file that
# check_format.sh checks. --root DIR works on another tree (a copy, say) instead of this checkout.
# Usage: format.sh [--root DIR] [FILE...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$here/../..
if [[ ${1:-} == --root ]]; then
  root=${2:?usage: format.sh [--root DIR] [FILE...]}
  shift 2
fi
root=$(cd "$root" && pwd)
source "$here/clang_format.sh"
if [[ $# -gt 0 ]]; then
  files=("$@")
else
  mapfile -t files < <("$here/list_sources.sh" "$root")
fi
cd "$root"
[[ ${#files[@]} -gt 0 ]] || exit 0
"$clang_format" --style=file -i "${files[@]}"
echo "formatted ${#files[@]} files under $root"
