#!/usr/bin/env bash
# ray.util.list_named_actors on three node daemons on loopback (resources a, b, c; one CPU each):
# detached named actors created by a driver on c live on a, b and c, and every member lists all
# three (drivers on c and a, a task on b and one on c, an actor on a); a killed actor is no longer
# listed; when b is killed (kill -9), its actor is not listed and the listing does not wait for b.
# Every wait is bounded.
set -u
rayx=$(readlink -f "$1")
here=$(cd "$(dirname "$0")" && pwd)
script=$here/cluster/work_named.py
export RAYX_CLUSTER_TOKEN=cluster-named-test-secret
source "$here/cluster/lib.sh"
run() {  # run OUT ADDRESS STEP
  timeout 120 "$rayx" run --address "$2" "$script" "$3" >"$1" 2>&1
}

start a '{"a": 1}' || { cat "$tmp/a.out"; exit 1; }
start b '{"b": 1}' --address "$(addr a)" || { cat "$tmp/b.out"; exit 1; }
start c '{"c": 1}' --address "$(addr b)" || { cat "$tmp/c.out"; exit 1; }

run "$tmp/create.out" "$(addr c)" create
check "named actors on a, b and c are listed from c, a task on b and an actor on a" \
  grep -q "named create ok" "$tmp/create.out" || cat "$tmp/create.out"
run "$tmp/check.out" "$(addr a)" check
check "the same names are listed from a and a task on c; a killed actor is not" \
  grep -q "named check ok" "$tmp/check.out" || cat "$tmp/check.out"
kill -9 "$(pid_of b)"
run "$tmp/dead.out" "$(addr c)" dead
check "with b killed, its actor is not listed and the listing does not wait for b" \
  grep -q "named dead ok" "$tmp/dead.out" || cat "$tmp/dead.out"
for d in a c; do
  grep -i "protocol" "$tmp/$d/node.log" && check "no protocol error on $d" false
done

"$rayx" stop --data-dir "$tmp/a" >/dev/null 2>&1
"$rayx" stop --data-dir "$tmp/c" >/dev/null 2>&1
exit $fail
