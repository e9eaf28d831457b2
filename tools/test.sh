#!/usr/bin/env bash
# Installs what is missing (tools/setup.sh), then builds and runs every test: `bazel test //...`.
# --keep_going: one broken target does not hide the results of the others. Exits non-zero when
# anything fails. Extra arguments go to `bazel test`.
# RAYX_BAZEL_OUTPUT_BASE, when set, gives Bazel an output base of its own (to avoid waiting on the
# lock of another Bazel server working in the same checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
exec bazel ${RAYX_BAZEL_OUTPUT_BASE:+--output_base="$RAYX_BAZEL_OUTPUT_BASE"} \
  test //... --test_output=errors --keep_going "$@"
