#!/usr/bin/env bash
# ObjectRefs that cross nodes, on three node daemons on loopback (resources a, b, c; one CPU each):
# references nested in a result made on b are read from c, passed on to a (nested and at the top
# level), and freed on b once the driver lets go of them; a reference not ready when its task is
# sent reaches the task; when b dies (kill -9), the objects it owned that the driver has no copy
# of raise OwnerDiedError. A task sent on a stale view of a node's free resources is refused by it
# and runs elsewhere at once. Every wait is bounded.
set -u
rayx=$(readlink -f "$1")
here=$(cd "$(dirname "$0")" && pwd)
scripts=$here/cluster
export RAYX_CLUSTER_TOKEN=cluster-nested-test-secret
PY=python3
source "$here/cluster/lib.sh"
store_used() {  # store_used NAME: bytes in that node's shared-memory store, as it reports them
  "$rayx" status --address "$(addr a)" --json | $PY -c '
import json, sys
name = sys.argv[1]
print([n["object_store"]["used"] for n in json.load(sys.stdin)["nodes"] if name in n["resources"]][0])' "$1"
}
wait_flag() {  # wait_flag FILE: up to 60 s
  for _ in $(seq 600); do [[ -e $1 ]] && return 0; sleep 0.1; done
  return 1
}

start a '{"a": 1, "x": 1}' || { cat "$tmp/a.out"; exit 1; }
start b '{"b": 1, "x": 1}' --address "$(addr a)" || { cat "$tmp/b.out"; exit 1; }
start c '{"c": 1}' --address "$(addr b)" || { cat "$tmp/c.out"; exit 1; }

# Nested references, passed on, then freed.
flag=$tmp/released
timeout 120 "$rayx" run --address "$(addr c)" "$scripts/nested_refs.py" "$flag" \
  >"$tmp/nested.out" 2>&1 &
job=$!
if check "the driver read and passed on the nested references" wait_flag "$flag"; then
  used=1
  for _ in $(seq 100); do
    used=$(store_used b)
    [[ $used == 0 ]] && break
    sleep 0.1
  done
  check "b's store is empty once the driver let go of them (used: $used)" test "$used" == 0
fi
rm -f "$flag"
wait "$job"
check "nested references across nodes" grep -q "nested ok" "$tmp/nested.out" ||
  cat "$tmp/nested.out"

# A stale view: b is made busy by a task pinned there, and a task that a or b could run is sent
# at once, while c's view still says b is free. b refuses it, and it runs on a without waiting for
# b. Six rounds: without the refusal about half of them would wait for the pinned task.
timeout 120 "$rayx" run --address "$(addr c)" "$scripts/stale_view.py" >"$tmp/stale.out" 2>&1
check "a task refused on a stale view runs elsewhere at once" grep -q "stale ok" "$tmp/stale.out" ||
  cat "$tmp/stale.out"

# A task no node can run is reported once (in the log of the node that owns it), with what every
# node has.
timeout 60 "$rayx" run --address "$(addr c)" "$scripts/infeasible.py" >"$tmp/infeasible.out" 2>&1
check "a task no node can run waits" grep -q "infeasible ok" "$tmp/infeasible.out" ||
  cat "$tmp/infeasible.out"
reported() {  # The one report, naming this node's and the other members' resources.
  local report
  report=$(grep "which no node of this cluster has" "$tmp/c/node.log")
  [[ $(echo "$report" | wc -l) == 1 && $report == *"this node has {CPU: 1, c: 1"* &&
    $report == *"the others: node "* && $report == *" a: 1"* && $report == *" b: 1"* ]]
}
check "it is reported once, with every node's resources" reported || cat "$tmp/infeasible.out"

# b dies while the driver holds references to objects b owns.
flag=$tmp/kill-b
timeout 120 "$rayx" run --address "$(addr c)" "$scripts/nested_owner_death.py" "$flag" \
  >"$tmp/death.out" 2>&1 &
job=$!
if check "the driver holds b's objects" wait_flag "$flag"; then
  kill -9 "$(pid_of b)"
  for _ in $(seq 100); do
    "$rayx" status --address "$(addr a)" --json | $PY -c '
import json, sys
sys.exit(0 if sum(1 for n in json.load(sys.stdin)["nodes"] if n["alive"]) == 2 else 1)' && break
    sleep 0.1
  done
fi
rm -f "$flag"
wait "$job"
check "objects owned by a dead node raise OwnerDiedError" grep -q "owner death ok" \
  "$tmp/death.out" || cat "$tmp/death.out"

"$rayx" stop --data-dir "$tmp/a" >/dev/null 2>&1
"$rayx" stop --data-dir "$tmp/c" >/dev/null 2>&1
exit $fail
