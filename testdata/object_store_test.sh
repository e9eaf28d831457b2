#!/usr/bin/env bash
# End to end: the object store's reference counting, spilling and restoring, and a long churn of
# large objects through a small store, and reads that hold no memory (testdata/objects/*.py), each
# under `rayx run`.
# Usage: object_store_test.sh RAYX_BINARY
set -u
RAYX=$(readlink -f "${1:?usage: $0 RAYX_BINARY}")
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d "${TEST_TMPDIR:-/tmp}/rayx-objects.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
fails=0
for script in refcount spill churn reads; do
  if (cd "$TMP" && RAYX_HOME=$TMP/home timeout 120 "$RAYX" run "$HERE/objects/$script.py"); then
    echo "ok: $script"
  else
    echo "FAIL: $script"
    fails=$((fails + 1))
  fi
done
# Every session's directories are gone once its driver exits.
if [[ -n $(ls -A "$TMP/home/sessions" 2>/dev/null) ]]; then
  echo "FAIL: session directories left behind: $(ls "$TMP/home/sessions")"
  fails=$((fails + 1))
fi
[[ $fails == 0 ]]
