#!/usr/bin/env bash
# Fails when a C++ source of the checkout is not clang-formatted (run by `bazel test //...`).
# First proves that the check can fail and pass: a badly formatted snippet under a copy of the
# .clang-format must fail and be named, a formatted one must pass. Then checks the checkout,
# found by following the .clang-format given as data back to the source tree (the test is tagged
# local and external: it reads files Bazel does not know of, so it runs every time, unsandboxed).
# Usage: format_test.sh CHECK_SCRIPT CLANG_FORMAT_FILE
set -uo pipefail
check=$(readlink -f "$1")
style=$(readlink -f "$2")
root=$(dirname "$style")
export HOME=${HOME:-${TEST_TMPDIR:-/tmp}}
tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/format_test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Self-check: bad.cc is not formatted, good.cc is. Neither directory is a git work tree, so the
# check takes every *.cc and *.h under it.
mkdir -p "$tmp/bad/engine" "$tmp/good/engine"
cp "$style" "$tmp/bad/.clang-format"
cp "$style" "$tmp/good/.clang-format"
printf 'int  Add( int a,int b ){\nreturn a+b;}\n' >"$tmp/bad/engine/bad.cc"
printf 'int Add(int a, int b) { return a + b; }\n' >"$tmp/good/engine/good.cc"
cp "$tmp/good/engine/good.cc" "$tmp/bad/engine/good.cc"

out=$("$check" "$tmp/bad" 2>&1)
rc=$?
[[ $rc == 1 ]] || fail "the check exited $rc, not 1, on a badly formatted file: $out"
grep -q '^engine/bad.cc: not formatted' <<<"$out" || fail "the check did not name engine/bad.cc: $out"
! grep -q 'good.cc' <<<"$out" || fail "the check named a formatted file: $out"
grep -q 'tools/format/format.sh' <<<"$out" || fail "the check did not say how to fix: $out"
out=$("$check" "$tmp/good" 2>&1) || fail "the check failed on a formatted file: $out"
echo "self-check passed: a badly formatted file fails and is named, a formatted one passes"

# The checkout.
[[ -d $root/engine ]] || fail "$style does not lead back to the source tree ($root has no engine/)"
echo "checking $root"
"$check" "$root"
