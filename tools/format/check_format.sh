#!/usr/bin/env bash
# Checks that the C++ sources under ROOT (default: this checkout) are formatted as ROOT's
# .clang-format says. Names each file that is not, with how many lines would change, and exits 1;
# exits 0 when all are formatted, 2 when it cannot check. Fix with tools/format/format.sh.
# Usage: check_format.sh [ROOT]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "${1:-$here/../..}" && pwd)
source "$here/clang_format.sh"
[[ -f $root/.clang-format ]] || { echo "no .clang-format in $root" >&2; exit 2; }

mapfile -t files < <("$here/list_sources.sh" "$root")
[[ ${#files[@]} -gt 0 ]] || { echo "no C++ sources under $root" >&2; exit 2; }
bad=()
for f in "${files[@]}"; do
  # --dry-run -Werror: one warning per change, exit status non-zero if there is any.
  if ! out=$("$clang_format" --style=file --dry-run -Werror "$root/$f" 2>&1); then
    n=$(grep -c 'error: code should be clang-formatted' <<<"$out" || true)
    if [[ $n == 0 ]]; then
      echo "$f: clang-format failed:" >&2
      echo "$out" >&2
      exit 2
    fi
    echo "$f: not formatted ($n $( ((n == 1)) && echo place || echo places) to change)"
    bad+=("$f")
  fi
done
if [[ ${#bad[@]} -gt 0 ]]; then
  echo
  echo "${#bad[@]} of ${#files[@]} C++ files are not formatted. Fix them in place with:"
  if [[ ${#bad[@]} -le 5 ]]; then
    echo "  tools/format/format.sh ${bad[*]}"
  else
    echo "  tools/format/format.sh          (every file), or name the files: tools/format/format.sh FILE..."
  fi
  echo "(see the changes first: $clang_format --style=file FILE | diff FILE -)"
  exit 1
fi
echo "${#files[@]} C++ files are formatted."
