#!/usr/bin/env bash
# Placement groups on three node daemons on loopback (a: 2 CPUs; b: 2 CPUs and the resource "b";
# c: 2 CPUs and 1 GPU), the driver attached to a, which kills b near the end: see
# cluster/placement_groups.py. Every wait is bounded.
set -u
rayx=$(readlink -f "$1")
here=$(cd "$(dirname "$0")" && pwd)
export RAYX_HOME=$(mktemp -d)
export RAYX_CLUSTER_TOKEN=cluster-pg-test-secret
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
start() {  # start NAME CPUS RESOURCES [ARGS...]
  local name=$1 cpus=$2 res=$3
  shift 3
  timeout 60 "$rayx" start --port 0 --num-cpus "$cpus" --resources "$res" \
    --heartbeat-timeout 2 --data-dir "$tmp/$name" "$@" >"$tmp/$name.out" 2>&1
}
start a 2 '{}' || { cat "$tmp/a.out"; exit 1; }
start b 2 '{"b": 1}' --address "$(addr a)" || { cat "$tmp/b.out"; exit 1; }
start c 2 '{}' --num-gpus 1 --address "$(addr b)" || { cat "$tmp/c.out"; exit 1; }
# A driver attached to b makes a detached group first: its job has the same number on b as the
# next driver's on a, and the groups must not share an id for it.
timeout 60 "$rayx" run --address "$(addr b)" -c '
import ray
from ray.util.placement_group import placement_group
ray.init()
pg = placement_group([{"CPU": 0.5}], name="other", lifetime="detached")
assert pg.wait(30)
print("other group made")' >"$tmp/other.out" 2>&1
grep -q "other group made" "$tmp/other.out" || { echo "FAIL: a group from b"; cat "$tmp/other.out"; exit 1; }
timeout 240 "$rayx" run --address "$(addr a)" "$here/cluster/placement_groups.py" \
  "$(pid_of b)" >"$tmp/pg.out" 2>&1
if grep -q "cluster placement groups ok" "$tmp/pg.out"; then
  echo "ok: placement groups in a cluster"
  exit 0
fi
echo "FAIL: placement groups in a cluster"
cat "$tmp/pg.out"
for d in a b c; do
  echo "--- $d's node.log"
  tail -20 "$tmp/$d/node.log" 2>/dev/null
done
exit 1
