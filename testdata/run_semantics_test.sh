#!/usr/bin/env bash
# End to end: `rayx run` behaves like /usr/bin/python3 (same libpython) for the script's author.
# Usage: run_semantics_test.sh RAYX_BINARY
set -u
RAYX=$(readlink -f "${1:?usage: $0 RAYX_BINARY}")
PY=/usr/bin/python3
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d "${TEST_TMPDIR:-/tmp}/rayx-e2e.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
# Its own data directory (lineage log, sessions): not the machine's, which other tests share.
export RAYX_HOME=$TMP/home
cd "$TMP"
fails=0
check() {  # check "what" command...
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi
}
# same "what" ARGS...: `rayx run ARGS` and `python3 ARGS` give the same status, stdout and stderr
# (the interpreter's own name in messages aside). Reads stdin from $STDIN when set.
same() {
  local what=$1; shift
  "$RAYX" run "$@" <"${STDIN:-/dev/null}" >r.out 2>r.err; local rc=$?
  "$PY" "$@" <"${STDIN:-/dev/null}" >p.out 2>p.err; local pc=$?
  sed -i "s#^$RAYX: #PROGRAM: #; s#^rayx: #PROGRAM: #" r.err
  sed -i "s#^$PY: #PROGRAM: #" p.err
  if [[ $rc == "$pc" ]] && cmp -s r.out p.out && cmp -s r.err p.err; then
    echo "ok: $what (status $rc)"
  else
    echo "FAIL: $what: rayx status $rc, python3 status $pc"
    diff -u p.out r.out; diff -u p.err r.err
    fails=$((fails + 1))
  fi
}

mkdir -p scripts
cat >scripts/args.py <<'PY'
import os, sys
print(__name__, sys.argv[1:], sys.path[0] == os.path.dirname(os.path.abspath(__file__)))
print("unflushed at exit", end="")
sys.exit(int(sys.argv[1]))
PY
same "argv, __name__, sys.path[0] and sys.exit status" scripts/args.py 3 --foo -x --help
same "exit status 0" scripts/args.py 0

printf 'import sys\ndef f():\n    raise RuntimeError("top-level failure")\nf()\n' >scripts/raise.py
same "uncaught exception: traceback with the script's lines, status 1" scripts/raise.py
grep -q 'raise.py", line 3' r.err
check "traceback names the script's line" test $? = 0

printf 'def broken(:\n' >scripts/syntax.py
same "SyntaxError reported like python3" scripts/syntax.py

same "missing script" scripts/missing.py
check "missing script is named, status in 1..127" \
  bash -c 'grep -q missing.py r.err && s=$(cd . && "$0" run scripts/missing.py 2>/dev/null; echo $?) && [ "$s" -gt 0 ] && [ "$s" -lt 128 ]' "$RAYX"

same "-c with arguments" -c 'import sys; print(sys.argv, sys.path[0]); sys.exit(4)' a --b
same "-c raising" -c 'import json; json.loads("{")'

mkdir -p pp/userpkg
touch pp/userpkg/__init__.py
printf 'import sys\nprint("module", __name__, sys.argv)\n' >pp/userpkg/tool.py
export PYTHONPATH=$TMP/pp
same "-m MODULE from PYTHONPATH with arguments" -m userpkg.tool a -b
same "PYTHONPATH makes user packages importable" -c 'import userpkg.tool'
unset PYTHONPATH

printf 'import sys\nfor line in sys.stdin:\n    print(line.strip().upper())\n' >scripts/upper.py
printf 'one\ntwo\n' >input.txt
STDIN=input.txt same "stdin passes through to the script" scripts/upper.py
printf 'import sys\nprint("read from stdin", sys.argv)\n' >prog.py
STDIN=prog.py same "program read from stdin with -" - x y

out=$("$RAYX" run -c 'import sys, ray, rayx, ray as r2
assert ray is rayx is r2 and sys.modules["ray"] is rayx
print("ray is rayx", rayx.__file__)' 2>&1)
check "import ray gives the rayx module" grep -q "ray is rayx <rayx>/rayx/__init__.py" <<<"$out"

mkdir -p venv/lib/python3.11/site-packages
echo 'WHERE = "venv"' >venv/lib/python3.11/site-packages/venvmod.py
out=$(VIRTUAL_ENV=$TMP/venv "$RAYX" run -c 'import venvmod; print(venvmod.WHERE)' 2>&1)
check "VIRTUAL_ENV's site-packages is importable" test "$out" = venv

mkdir -p alone
cp "$RAYX" alone/rayx
out=$(cd / && "$TMP/alone/rayx" run "$HERE/examples/hello.py" tester 2>&1)
check "a copy of the binary runs from any directory with nothing beside it" \
  grep -q "hello, tester, from rayx" <<<"$out"

# A non-interactive shell starts background jobs with SIGINT ignored; give the run the default back.
env --default-signal=INT "$RAYX" run -c 'import time; print("ready", flush=True); time.sleep(30)' >sig.out 2>sig.err &
pid=$!
for _ in $(seq 50); do grep -q ready sig.out && break; sleep 0.1; done
kill -INT "$pid"; wait "$pid"; code=$?
check "Ctrl-C raises KeyboardInterrupt and ends by SIGINT (status 130)" test "$code" = 130
check "Ctrl-C shows KeyboardInterrupt" grep -q KeyboardInterrupt sig.err

if [ "$fails" = 0 ]; then echo "all checks held"; exit 0; fi
echo "$fails checks failed"; exit 1
