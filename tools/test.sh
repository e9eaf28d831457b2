#!/usr/bin/env bash
# Installs what is missing (tools/setup.sh), then builds and runs every test: `bazel test //...`.
# --keep_going: one broken target does not hide the results of the others. Ends with the line
# 'N passed, N failed' (test targets) and exits non-zero when anything fails. Extra arguments go
# to `bazel test`.
# With CI=true (.ci/run) or RAYX_TEST_ASAN=1 the suite then runs again built with AddressSanitizer
# and UBSan (`--config=asan`, whose outputs stay apart in bazel-out/k8-fastbuild-asan): the targets
# of RAYX_ASAN_TARGETS, by default every one (`//...`). The last line counts both runs.
# RAYX_BAZEL_OUTPUT_BASE, when set, gives Bazel an output base of its own (to avoid waiting on the
# lock of another Bazel server working in the same checkout).
set -uo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh || exit 1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
passed=0 failed=0 flaky=0 status=0

# run LABEL BAZEL_TEST_ARGS...: one bazel test, its results added to the counts.
run() {
  local label=$1
  shift
  bazel ${RAYX_BAZEL_OUTPUT_BASE:+--output_base="$RAYX_BAZEL_OUTPUT_BASE"} \
    test --test_output=errors --keep_going "$@" 2>&1 | tee "$log"
  local s=${PIPESTATUS[0]}
  # Bazel's summary has one line per test target: "//pkg:name   (cached) PASSED in 0.1s".
  local p f k
  p=$(grep -cE '^//[^ ]+ .*PASSED' "$log")
  f=$(grep -cE '^//[^ ]+ .*(FAILED|TIMEOUT|NO STATUS|INCOMPLETE)' "$log")
  # A FLAKY target failed and then passed on a retry (flaky = True): it passes, and is named apart.
  k=$(grep -cE '^//[^ ]+ .*FLAKY' "$log")
  if [[ $s != 0 && $f == 0 ]]; then
    f=1  # The build itself failed before any test ran.
  fi
  echo "$label: $((p + k)) passed, $f failed"
  passed=$((passed + p + k)) failed=$((failed + f)) flaky=$((flaky + k))
  [[ $s != 0 ]] && status=$s
}

run "bazel test //..." //... "$@"
if [[ ${CI:-} == true || ${RAYX_TEST_ASAN:-0} == 1 ]]; then
  start=$SECONDS
  # shellcheck disable=SC2086  # A list of target patterns.
  run "bazel test --config=asan" --config=asan ${RAYX_ASAN_TARGETS:-//...} "$@"
  echo "the ASan and UBSan run took $((SECONDS - start)) s"
fi
note=""
[[ $flaky != 0 ]] && note=" ($flaky of the passed were flaky: failed, then passed on a retry)"
echo "$passed passed, $failed failed$note"
exit "$status"
