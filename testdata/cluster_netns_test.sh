#!/usr/bin/env bash
# Two node daemons in two network namespaces joined by a veth pair, on addresses that are not
# loopback (10.213.7.1 and 10.213.7.2): the second joins the first across the link with the token,
# a wrong token and a missing one are refused, a node without a token will not listen there, a
# driver in the other namespace attaches over TCP, and a killed member is declared dead. Skipped, saying why, where namespaces cannot be made (it needs
# root with CAP_SYS_ADMIN and CAP_NET_ADMIN, which a sandbox usually lacks). Every wait is bounded.
set -u
rayx=$(readlink -f "$1")
export RAYX_HOME=$(mktemp -d)
export RAYX_CLUSTER_TOKEN=netns-test-secret
tmp=$(mktemp -d)
fail=0
na=rxa$$ nb=rxb$$
ipa=10.213.7.1 ipb=10.213.7.2

cleanup() {
  for d in a b; do
    [[ -f $tmp/$d/node.info ]] && kill -9 "$(sed -n 's/^pid=//p' "$tmp/$d/node.info")" 2>/dev/null
  done
  ip netns del "$na" 2>/dev/null
  ip netns del "$nb" 2>/dev/null
  rm -rf "$tmp" "$RAYX_HOME"
}
trap cleanup EXIT

if ! err=$(ip netns add "$na" 2>&1); then
  echo "SKIP: cannot create network namespaces here (needs root with CAP_SYS_ADMIN): $err"
  exit 0
fi
if ! err=$( (ip netns add "$nb" && ip link add "$na" type veth peer name "$nb" &&
  ip link set "$na" netns "$na" && ip link set "$nb" netns "$nb" &&
  ip -n "$na" addr add "$ipa/24" dev "$na" && ip -n "$nb" addr add "$ipb/24" dev "$nb" &&
  ip -n "$na" link set "$na" up && ip -n "$nb" link set "$nb" up &&
  ip -n "$na" link set lo up && ip -n "$nb" link set lo up) 2>&1); then
  echo "SKIP: cannot set up the veth pair between namespaces: $err"
  exit 0
fi

check() {
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fail=1; fi
}
alive() {  # alive NS HOST:PORT
  ip netns exec "$1" "$rayx" status --address "$2" --json |
    python3 -c 'import json, sys; print(sum(1 for n in json.load(sys.stdin)["nodes"] if n["alive"]))'
}
eventually() {
  local n=$(($1 * 10)) i
  shift
  for i in $(seq "$n"); do
    "$@" && return 0
    sleep 0.1
  done
  "$@"
}

env -u RAYX_CLUSTER_TOKEN timeout 30 ip netns exec "$na" "$rayx" start --node-ip-address "$ipa" \
  --port 7001 --data-dir "$tmp/n" >"$tmp/n.out" 2>&1
check "no token: a node will not listen on $ipa" test $? -ne 0
check "...and says why" grep -q "without a cluster token" "$tmp/n.out"
check "a node starts on $ipa" timeout 60 ip netns exec "$na" "$rayx" start \
  --node-ip-address "$ipa" --port 7001 --num-cpus 1 --heartbeat-timeout 2 --data-dir "$tmp/a"
check "a node in the other namespace joins it across the veth pair" timeout 60 \
  ip netns exec "$nb" "$rayx" start --node-ip-address "$ipb" --port 7002 --num-cpus 1 \
  --heartbeat-timeout 2 --address "$ipa:7001" --data-dir "$tmp/b"
check "both see two alive" test "$(alive "$na" "$ipa:7001")$(alive "$nb" "$ipb:7002")" = 22
check "the other side sees it too" test "$(alive "$nb" "$ipa:7001")" = 2
RAYX_CLUSTER_TOKEN=wrong timeout 60 ip netns exec "$nb" "$rayx" start --node-ip-address "$ipb" \
  --port 7003 --address "$ipa:7001" --data-dir "$tmp/w" >"$tmp/w.out" 2>&1
check "a wrong token is refused across the link" test $? -ne 0
check "...naming the token" grep -q token "$tmp/w.out"
env -u RAYX_CLUSTER_TOKEN timeout 60 ip netns exec "$nb" "$rayx" status --address "$ipa:7001" \
  >/dev/null 2>&1
check "status without a token is refused" test $? -ne 0
# A driver in the other namespace attaches to the first node over TCP across the link (the
# namespaces share the file system, so it must be asked for: RAYX_ATTACH_OVER_TCP=1).
probe='import numpy, rayx
rayx.init()
@rayx.remote
def total(a):
    return float(a.sum())
@rayx.remote
def make(n):
    return numpy.ones(n)
a = numpy.arange(20 << 17, dtype=numpy.float64)
assert rayx.get(total.remote(rayx.put(a))) == float(a.sum())
assert rayx.get(make.remote(20 << 17)).sum() == 20 << 17
print("driver across the link ok")'
out=$(RAYX_ATTACH_OVER_TCP=1 timeout 60 ip netns exec "$nb" "$rayx" run --address "$ipa:7001" \
  -c "$probe" 2>&1)
check "a driver in the other namespace attaches over TCP, with 20 MB both ways" \
  grep -q "driver across the link ok" <<<"$out"
out=$(RAYX_CLUSTER_TOKEN=wrong RAYX_ADDRESS=tcp://$ipa:7001 timeout 60 \
  ip netns exec "$nb" "$rayx" run -c "$probe" 2>&1)
check "...and with a wrong token is refused, naming the token" grep -q token <<<"$out"
kill -9 "$(sed -n 's/^pid=//p' "$tmp/b/node.info")"
one_alive() { test "$(alive "$na" "$ipa:7001")" = 1; }
check "the killed member is declared dead" eventually 4 one_alive
out=$("$rayx" stop 2>&1)
check "stop stops the node in the namespace" grep -q "^stopped node" <<<"$out"

[[ $fail == 0 ]] && echo "cluster across namespaces: all checks held"
exit $fail
