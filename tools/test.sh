#!/usr/bin/env bash
# Installs what is missing (tools/setup.sh), then builds and runs every test: `bazel test //...`.
# --keep_going: one broken target does not hide the results of the others. Ends with the line
# 'N passed, N failed' (test targets) and exits non-zero when anything fails. Extra arguments go
# to `bazel test`.
# RAYX_BAZEL_OUTPUT_BASE, when set, gives Bazel an output base of its own (to avoid waiting on the
# lock of another Bazel server working in the same checkout).
set -uo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh || exit 1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
bazel ${RAYX_BAZEL_OUTPUT_BASE:+--output_base="$RAYX_BAZEL_OUTPUT_BASE"} \
  test //... --test_output=errors --keep_going "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# Bazel's summary has one line per test target: "//pkg:name   (cached) PASSED in 0.1s".
passed=$(grep -cE '^//[^ ]+ .*PASSED' "$log")
# A FLAKY target failed and then passed on a retry (flaky = True): it passes, and is named apart.
failed=$(grep -cE '^//[^ ]+ .*(FAILED|TIMEOUT|NO STATUS|INCOMPLETE)' "$log")
flaky=$(grep -cE '^//[^ ]+ .*FLAKY' "$log")
passed=$((passed + flaky))
if [[ $status != 0 && $failed == 0 ]]; then
  failed=1  # The build itself failed before any test ran.
fi
note=""
[[ $flaky != 0 ]] && note=" ($flaky of the passed were flaky: failed, then passed on a retry)"
echo "$passed passed, $failed failed$note"
exit "$status"
