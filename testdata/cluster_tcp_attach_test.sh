#!/usr/bin/env bash
# A driver attached to a daemon over TCP (RAYX_ATTACH_OVER_TCP=1 forces it on one machine):
# tasks, 1 MB and 20 MB arrays both ways, an actor, and values over the 64 MiB inline limit
# refused with errors that say why (cluster/tcp_driver.py). A wrong token or none is refused with a
# message that says so; the token never reaches the node's log; a driver on the same machine
# without the opt-in still attaches through the Unix socket. Every wait is bounded.
set -u
rayx=$(readlink -f "$1")
here=$(dirname "$(readlink -f "$0")")
export RAYX_HOME=$(mktemp -d)
export RAYX_CLUSTER_TOKEN=tcp-attach-test-secret
tmp=$(mktemp -d)
fail=0

check() {  # check WHAT COMMAND...
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fail=1; fi
}
field() { sed -n "s/^$1=//p" "$tmp/a/node.info"; }
cleanup() {
  [[ -f $tmp/a/node.info ]] && kill -9 "$(field pid)" 2>/dev/null
  rm -rf "$tmp" "$RAYX_HOME"
}
trap cleanup EXIT

timeout 60 "$rayx" start --port 0 --num-cpus 2 --data-dir "$tmp/a" >"$tmp/a.out" 2>&1
check "the daemon starts" test $? -eq 0
address=$(field address)
node_id=$("$rayx" status --address "$address" --json |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["nodes"][0]["node_id"])')

out=$(EXPECTED_NODE_ID=$node_id RAYX_ATTACH_OVER_TCP=1 timeout 120 \
  "$rayx" run --address "$address" "$here/cluster/tcp_driver.py" 2>&1)
check "the driver over TCP runs tasks, arrays both ways and an actor" grep -q "tcp driver ok" <<<"$out"
check "a put over the inline limit names the limit" grep -q "too large put: .*67108864" <<<"$out"
check "a result over the inline limit says why" grep -q "too large get: .*over TCP" <<<"$out"
[[ $fail -eq 0 ]] || echo "$out"

probe='import os, rayx; rayx.init(); print("attached by", os.environ["RAYX_ADDRESS"])'
out=$(RAYX_CLUSTER_TOKEN=wrong RAYX_ADDRESS=tcp://$address timeout 60 "$rayx" run -c "$probe" 2>&1)
check "a driver with a wrong token is refused" test $? -ne 0
check "the refusal names the token" grep -qi "token" <<<"$out"
out=$(env -u RAYX_CLUSTER_TOKEN RAYX_ADDRESS=tcp://$address timeout 60 "$rayx" run -c "$probe" 2>&1)
check "a driver without a token is refused" test $? -ne 0
check "that refusal names the token too" grep -qi "token" <<<"$out"
check "the token never reaches the node's log" bash -c "! grep -rq '$RAYX_CLUSTER_TOKEN' '$tmp/a'"

out=$(timeout 60 "$rayx" run --address "$address" -c "$probe" 2>&1)
check "without the opt-in a driver here attaches through the Unix socket" \
  grep -q "attached by $(field socket)" <<<"$out"
# rayx.init(address=HOST:PORT) decides in Python: over TCP only values up to 64 MiB can be put.
probe='import os, numpy, rayx
rayx.init(address=os.environ["MEMBER"])
try:
    rayx.put(numpy.zeros(9 << 20))
    print("shared memory")
except ValueError:
    print("inline only")'
out=$(MEMBER=$address RAYX_ATTACH_OVER_TCP=1 timeout 60 "$rayx" run -c "$probe" 2>&1)
check "rayx.init(address=HOST:PORT) with the opt-in attaches over TCP" grep -q "inline only" <<<"$out"
out=$(MEMBER=$address timeout 60 "$rayx" run -c "$probe" 2>&1)
check "and without it through the Unix socket" grep -q "shared memory" <<<"$out"
out=$(RAYX_HOME=$tmp/elsewhere MEMBER=$address timeout 60 "$rayx" run -c "$probe" 2>&1)
check "and over TCP to a member not registered here (another machine's)" \
  grep -q "inline only" <<<"$out"

"$rayx" stop --data-dir "$tmp/a" >/dev/null 2>&1
exit $fail
