#!/usr/bin/env bash
# Placement groups on two node daemons on loopback (a: 2 CPUs; b: 1 CPU and the resource "b"),
# the driver attached to a: see cluster/placement_groups.py. Every wait is bounded.
set -u
rayx=$(readlink -f "$1")
here=$(cd "$(dirname "$0")" && pwd)
export RAYX_HOME=$(mktemp -d)
export RAYX_CLUSTER_TOKEN=cluster-pg-test-secret
tmp=$(mktemp -d)
addr() { sed -n 's/^address=//p' "$tmp/$1/node.info"; }
pid_of() { sed -n 's/^pid=//p' "$tmp/$1/node.info"; }
cleanup() {
  for d in a b; do
    [[ -f $tmp/$d/node.info ]] && kill -9 "$(pid_of $d)" 2>/dev/null
  done
  rm -rf "$tmp" "$RAYX_HOME"
}
trap cleanup EXIT
start() {  # start NAME CPUS RESOURCES [ARGS...]
  local name=$1 cpus=$2 res=$3
  shift 3
  timeout 60 "$rayx" start --port 0 --num-cpus "$cpus" --resources "$res" \
    --data-dir "$tmp/$name" "$@" >"$tmp/$name.out" 2>&1
}
start a 2 '{}' || { cat "$tmp/a.out"; exit 1; }
start b 1 '{"b": 1}' --address "$(addr a)" || { cat "$tmp/b.out"; exit 1; }
timeout 120 "$rayx" run --address "$(addr a)" "$here/cluster/placement_groups.py" \
  >"$tmp/pg.out" 2>&1
if grep -q "cluster placement groups ok" "$tmp/pg.out"; then
  echo "ok: placement groups in a cluster"
  exit 0
fi
echo "FAIL: placement groups in a cluster"
cat "$tmp/pg.out"
cat "$tmp/a/node.log" 2>/dev/null | tail -20
exit 1
