#!/usr/bin/env bash
# Runs a Python program under `rayx run` and checks what a user sees around it:
#   script_test.sh RAYX SCRIPT [EXPECTED_OUTPUT_REGEX...]
# The program must exit 0, its output must match every regex given, and no rayx process of the
# run may be left behind.
set -u
rayx=$(readlink -f "$1")
script=$2
shift 2
export RAYX_HOME=$(mktemp -d)
log=$(mktemp)
# Streamed through tee so that a hung run still shows how far it got.
"$rayx" run "$script" 2>&1 | tee "$log"
code=${PIPESTATUS[0]}
out=$(cat "$log")
rm -f "$log"
fail=0
if [[ $code != 0 ]]; then
  echo "FAIL: $script exited $code"
  fail=1
fi
for pattern in "$@"; do
  if ! grep -qE -- "$pattern" <<<"$out"; then
    echo "FAIL: output lacks /$pattern/"
    fail=1
  fi
done
sleep 0.3
for p in /proc/[0-9]*; do
  [[ $(readlink "$p/exe" 2>/dev/null) == "$rayx" ]] || continue
  if tr '\0' '\n' <"$p/environ" 2>/dev/null | grep -qx "RAYX_HOME=$RAYX_HOME"; then
    echo "FAIL: process ${p#/proc/} outlived the run"
    fail=1
  fi
done
rm -rf "$RAYX_HOME"
exit $fail
