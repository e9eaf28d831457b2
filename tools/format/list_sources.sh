#!/usr/bin/env bash
# Prints, one per line and relative to ROOT, the C++ sources that clang-format checks: the *.cc and
# *.h files tracked by git (or, when ROOT is not a git work tree, such as a copy of the tree, every
# *.cc and *.h under it). Exempt: Bazel's output links (bazel-*), the Bazel stand-ins under
# tools/bazel/, and generated code (*_generated.h, flatc's output, which the build makes).
# Usage: list_sources.sh ROOT
set -euo pipefail
root=${1:?usage: list_sources.sh ROOT}
cd "$root"
# ROOT itself must be the top of the work tree: a directory inside another checkout (Bazel's
# execroot links the workspace's .git in, so a test's temporary directory is one) is not.
if [[ $(git rev-parse --show-toplevel 2>/dev/null) == "$(pwd -P)" ]]; then
  git ls-files -- '*.cc' '*.h'
else
  find . \( -name 'bazel-*' -o -name .git \) -prune -o -type f \( -name '*.cc' -o -name '*.h' \) \
    -print | sed 's|^\./||' | LC_ALL=C sort
fi | grep -vE '^(bazel-|tools/bazel/)|_generated\.h$' | while IFS= read -r f; do
  [[ -f $f ]] && printf '%s\n' "$f"  # Tracked but deleted in the work tree: nothing to check.
done
exit 0
