#!/usr/bin/env bash
# Resource exhaustion: a node out of file descriptors (RLIMIT_NOFILE lowered by the script) and
# out of processes (`ulimit -u`, as the user nobody: root is not held to it) fails the actors it
# cannot start at the call, with an error that names the limit, and goes on serving
# (e2e/exhaustion.py says what is checked). The process form is skipped, saying so, where the test
# cannot run a program as another user.
set -u
rayx=$(readlink -f "$1")
script=$(readlink -f "$2")
fail=0
export RAYX_HOME=$(mktemp -d)
work=$(mktemp -d)
trap 'rm -rf "$RAYX_HOME" "$work"' EXIT

if timeout 180 "$rayx" run "$script" fds >"$work/fds.out" 2>&1 && grep -q "exhaustion ok" "$work/fds.out"; then
  echo "ok: out of file descriptors: $(grep 'actors started' "$work/fds.out")"
else
  echo "FAIL: out of file descriptors"
  cat "$work/fds.out"
  fail=1
fi

if [[ $(id -u) != 0 ]] || ! command -v setpriv >/dev/null || ! id nobody >/dev/null 2>&1 ||
  ! setpriv --reuid=nobody --regid=nogroup --clear-groups true 2>/dev/null; then
  echo "skipped: out of processes (needs root, setpriv and the user nobody, to run with a low ulimit -u)"
  exit $fail
fi
# nobody cannot read Bazel's output tree: the binary and the script are copied where it can.
chmod 777 "$work"
cp "$rayx" "$script" "$work/"
chmod 755 "$work/rayx" "$work/$(basename "$script")"
if (cd "$work" && timeout 180 setpriv --reuid=nobody --regid=nogroup --clear-groups bash -c \
  "ulimit -u 60 && RAYX_HOME='$work/home' HOME='$work' ./rayx run './$(basename "$script")' procs") \
  >"$work/procs.out" 2>&1 && grep -q "exhaustion ok" "$work/procs.out"; then
  echo "ok: out of processes: $(grep 'actors started' "$work/procs.out")"
  grep -q "see \`ulimit -u\`" "$work/procs.out" && echo "ok: a worker that could not start a thread names the limit"
else
  echo "FAIL: out of processes"
  tail -30 "$work/procs.out"
  fail=1
fi
exit $fail
