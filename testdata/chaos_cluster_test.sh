#!/usr/bin/env bash
# Chaos on a cluster of three node daemons on loopback (two CPUs each): the mixed job of
# chaos/chaos.py, tasks and actors sent with SPREAD so that every node has work, while a worker of
# one of the three nodes is SIGKILLed every 100 ms; every result must be right. Short form
# (CHAOS_TASKS, default 3,000); tools/chaos.sh --cluster runs the long one.
set -u
rayx=$(readlink -f "$1")
script=$(readlink -f "$2")
tasks=${CHAOS_TASKS:-3000} every=0.1
# Under AddressSanitizer (bazel test --config=asan sets RAYX_SANITIZER) a worker takes about ten
# times as long to start and to run: fewer tasks, and a kill every 500 ms.
[[ ${RAYX_SANITIZER:-} == asan ]] && tasks=${CHAOS_TASKS:-600} every=0.5
# The kills stop after this many seconds if the job has not ended (chaos.py --kill-for: on a loaded
# machine a kill every 100 ms can starve a nested task for good); every result must still come.
kill_for=${CHAOS_KILL_FOR:-120}
export RAYX_HOME=$(mktemp -d)
export RAYX_CLUSTER_TOKEN=chaos-cluster-test-secret
tmp=$(mktemp -d)
addr() { sed -n 's/^address=//p' "$tmp/$1/node.info"; }
pid_of() { sed -n 's/^pid=//p' "$tmp/$1/node.info"; }
cleanup() {
  for d in a b c; do
    [[ -f $tmp/$d/node.info ]] && kill -9 "$(pid_of $d)" 2>/dev/null
  done
  rm -rf "$tmp" "$RAYX_HOME"
}
trap cleanup EXIT
start() {  # start NAME [ARGS...]
  local name=$1
  shift
  timeout 60 "$rayx" start --port 0 --num-cpus 2 --data-dir "$tmp/$name" "$@" >"$tmp/$name.out" 2>&1 ||
    { cat "$tmp/$name.out"; exit 1; }
}
start a
start b --address "$(addr a)"
start c --address "$(addr b)"
pids="$(pid_of a),$(pid_of b),$(pid_of c)"
fail=0
for mode in "" --actors; do
  timeout 600 "$rayx" run --address "$(addr a)" "$script" --tasks "$tasks" --spread \
    --kill-every "$every" --kill-for "$kill_for" --kill-children-of "$pids" $mode \
    >"$tmp/run.out" 2>&1
  out=$(grep -v 'retrying it\|restart' "$tmp/run.out")
  echo "$out" | tail -3
  [[ -n $out ]] || tail -5 "$tmp/run.out"
  line=$(grep '^chaos:' <<<"$out")
  if [[ -z $line ]] || ! grep -q ' 0 wrong$' <<<"$line"; then
    echo "FAIL: chaos on three nodes ${mode:-tasks}: not every result was right"
    fail=1
  elif grep -q ' 0 workers killed' <<<"$line"; then
    echo "FAIL: chaos on three nodes ${mode:-tasks}: no worker was killed, so nothing was tested"
    fail=1
  else
    echo "ok: chaos on three nodes ${mode:-tasks}"
  fi
done
for d in a b c; do
  kill -0 "$(pid_of $d)" 2>/dev/null || { echo "FAIL: node $d died"; fail=1; }
done
exit $fail
