#!/usr/bin/env bash
# Work across three node daemons on loopback (resources a, b, c, one CPU each): tasks go where
# their resources, affinity or SPREAD say; objects move between nodes (a task's argument, a get
# from the driver); an actor lives where its resources are and keeps its calls in order; a named
# actor is found from another node; when a node is killed (kill -9), the results that lived only
# there are rebuilt from lineage, a task running there is retried elsewhere, an actor with
# max_restarts restarts elsewhere, and a task without retries or an actor without restarts fails.
# Generator tasks run on their caller's node (work_generators.py). ray.cancel reaches a task and
# an actor's call on another member (work_cancel.py). The first drivers of two members get
# different job ids (work_jobs.py).
# Every wait is bounded.
set -u
rayx=$(readlink -f "$1")
here=$(cd "$(dirname "$0")" && pwd)
scripts=$here/cluster
export RAYX_CLUSTER_TOKEN=cluster-work-test-secret
PY=python3
source "$here/cluster/lib.sh"
run() {  # run OUT ADDRESS SCRIPT [ARGS...]
  local out=$1 address=$2
  shift 2
  timeout 120 "$rayx" run --address "$address" "$@" >"$out" 2>&1
}

start a '{"a": 1}' || { cat "$tmp/a.out"; exit 1; }
start b '{"b": 1}' --address "$(addr a)" || { cat "$tmp/b.out"; exit 1; }
start c '{"c": 1}' --address "$(addr b)" || { cat "$tmp/c.out"; exit 1; }

# The first drivers of two members at once: their job ids (and so their ids) must differ.
run "$tmp/jobs_a.out" "$(addr a)" "$scripts/work_jobs.py" 4 &
run "$tmp/jobs_b.out" "$(addr b)" "$scripts/work_jobs.py" 1
wait
job_a=$(sed -n 's/^jobs ok //p' "$tmp/jobs_a.out")
job_b=$(sed -n 's/^jobs ok //p' "$tmp/jobs_b.out")
check "the first drivers of two members have different job ids, and both their actors live" \
  test -n "$job_a" -a -n "$job_b" -a "$job_a" != "$job_b" ||
  cat "$tmp/jobs_a.out" "$tmp/jobs_b.out"
run "$tmp/spread.out" "$(addr c)" "$scripts/work_spread.py"
check "tasks, objects and actors spread over the nodes" grep -q "spread ok" "$tmp/spread.out" ||
  cat "$tmp/spread.out"
run "$tmp/lookup.out" "$(addr a)" "$scripts/work_lookup.py"
check "a named actor on b is found and killed from a" grep -q "lookup ok" "$tmp/lookup.out" ||
  cat "$tmp/lookup.out"
run "$tmp/cancel.out" "$(addr a)" "$scripts/work_cancel.py"
check "a task on c and a queued call to an actor on b are cancelled from a" \
  grep -q "cancel ok" "$tmp/cancel.out" || cat "$tmp/cancel.out"
run "$tmp/generators.out" "$(addr a)" "$scripts/work_generators.py"
check "generator tasks run on their caller's node; elsewhere they fail clearly" \
  grep -q "generators ok" "$tmp/generators.out" || cat "$tmp/generators.out"

store_used() {  # store_used NAME: bytes in that node's shared-memory store, as it reports them
  "$rayx" status --address "$(addr a)" --json | $PY -c '
import json, sys
name = sys.argv[1]
print([n["object_store"]["used"] for n in json.load(sys.stdin)["nodes"] if name in n["resources"]][0])' "$1"
}
flag=$tmp/kill-b
timeout 150 "$rayx" run --address "$(addr a)" "$scripts/work_lose.py" "$flag" >"$tmp/lose.out" 2>&1 &
job=$!
for _ in $(seq 600); do [[ -e $flag ]] && break; sleep 0.1; done
check "the job asks for b to be killed" test -e "$flag"
used=$(store_used b)
check "b's store holds the results before it dies ($used bytes)" test "$used" -ge 12000000
kill -9 "$(pid_of b)"
rm -f "$flag"
wait "$job"
check "results rebuilt, a task retried, an actor restarted; no retries or restarts: failed" \
  grep -q "lose ok" "$tmp/lose.out" || cat "$tmp/lose.out"

"$rayx" stop --data-dir "$tmp/a" >/dev/null 2>&1
"$rayx" stop --data-dir "$tmp/c" >/dev/null 2>&1
exit $fail
