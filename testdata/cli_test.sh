#!/usr/bin/env bash
# End to end: the rayx binary's command line (help, version, usage errors, the example program).
# Usage: cli_test.sh RAYX_BINARY
set -u
# Its own data directory (lineage log, sessions): not the machine's, which other tests share.
export RAYX_HOME=$(mktemp -d)
trap 'rm -rf "$RAYX_HOME"' EXIT
RAYX=$(readlink -f "${1:?usage: $0 RAYX_BINARY}")
HERE=$(cd "$(dirname "$0")" && pwd)
fails=0
check() {  # check "what" command...
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi
}
status() { "$@" >/dev/null 2>&1; echo $?; }

check "--version names rayx and Python" bash -c '"$0" --version | grep -q "^rayx [0-9].*Python 3\."' "$RAYX"
check "--help lists run" bash -c '"$0" --help | grep -q "run "' "$RAYX"
check "run --help explains run" bash -c '"$0" run --help | grep -q -- "-m"' "$RAYX"
check "no subcommand is a usage error" test "$(status "$RAYX")" = 2
check "an unknown subcommand is a usage error" test "$(status "$RAYX" frobnicate)" = 2
check "the example runs" bash -c '"$0" run "$1" | grep -q "hello, world, from rayx"' "$RAYX" \
  "$HERE/examples/hello.py"
check "mimalloc serves the process's allocations" \
  bash -c 'MIMALLOC_SHOW_STATS=1 "$0" run -c pass 2>&1 | grep -q "heap stats"' "$RAYX"

if [ "$fails" = 0 ]; then echo "all checks held"; exit 0; fi
echo "$fails checks failed"; exit 1
