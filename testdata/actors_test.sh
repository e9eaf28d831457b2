#!/usr/bin/env bash
# End to end: actors (state, order, errors, handles in tasks, names, kill, restarts, owners,
# threaded and async actors, resources) through `rayx run`.
# Usage: actors_test.sh RAYX_BINARY
set -u
RAYX=$(readlink -f "${1:?usage: $0 RAYX_BINARY}")
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d "${TEST_TMPDIR:-/tmp}/rayx-actors.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
cd "$TMP"
out=$(RAYX_HOME="$TMP/home" timeout -k 5 240 "$RAYX" run "$HERE/actors/actor_semantics.py" 2>&1)
rc=$?
echo "$out"
if [[ $rc != 0 ]]; then echo "FAIL: actor_semantics.py exited $rc"; exit 1; fi
grep -q "actor semantics: all checks held" <<<"$out" || { echo "FAIL: no final line"; exit 1; }
echo "ok: actor semantics"
