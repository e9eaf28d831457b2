#!/usr/bin/env bash
# Three node daemons on loopback form a cluster: every node sees three alive; a wrong or missing
# token is refused and not counted; a connection that does not authenticate is closed; garbage
# from a peer closes that connection only; a driver attaches through any member; a silent member
# and a killed one are declared dead by all within the timeout; a member that comes back is a new
# node; a node does not listen beyond loopback without a token; stop leaves no process behind.
# Every wait is bounded.
set -u
rayx=$(readlink -f "$1")
export RAYX_CLUSTER_TOKEN=cluster-test-secret
PY=python3
# The heartbeat timeout, in seconds. Under AddressSanitizer (bazel test --config=asan sets
# RAYX_SANITIZER) one `rayx status` takes about a second to start, so two of them would outlast a
# timeout of 2 s before they saw a stopped member still alive.
heartbeat_timeout=2
[[ ${RAYX_SANITIZER:-} == asan ]] && heartbeat_timeout=8
source "$(dirname "$(readlink -f "$0")")/cluster/lib.sh"
alive() {  # alive HOST:PORT: how many nodes that member counts as alive
  "$rayx" status --address "$1" --json |
    $PY -c 'import json, sys; print(sum(1 for n in json.load(sys.stdin)["nodes"] if n["alive"]))'
}
eventually() {  # eventually SECONDS COMMAND...: COMMAND holds within SECONDS (polled every 0.1 s)
  local n=$(($1 * 10)) i
  shift
  for i in $(seq "$n"); do
    "$@" && return 0
    sleep 0.1
  done
  "$@"
}
procs_left() {
  local p n=0
  for p in /proc/[0-9]*; do
    [[ $(readlink "$p/exe" 2>/dev/null) == "$rayx" ]] || continue
    tr '\0' '\n' <"$p/environ" 2>/dev/null | grep -qx "RAYX_HOME=$RAYX_HOME" && n=$((n + 1))
  done
  echo $n
}

check "the first node starts" start a '{"a": 1}'
check "the second joins the first" start b '{"b": 1}' --address "$(addr a)"
check "the third joins through the second" start c '{"c": 1}' --address "$(addr b)"
check "start prints how to join and attach" grep -q "rayx run --address $(addr c)" "$tmp/c.out"
check "every member sees three alive" test "$(alive "$(addr a)")$(alive "$(addr b)")$(alive "$(addr c)")" = 333

RAYX_CLUSTER_TOKEN=wrong timeout 60 "$rayx" start --port 0 --num-cpus 1 --data-dir "$tmp/d" \
  --address "$(addr a)" >"$tmp/d.out" 2>&1
check "a node with a wrong token is refused" test $? -ne 0
check "the refusal names the token" grep -q "token" "$tmp/d.out"
env -u RAYX_CLUSTER_TOKEN timeout 60 "$rayx" start --port 0 --num-cpus 1 --data-dir "$tmp/e" \
  --address "$(addr a)" >"$tmp/e.out" 2>&1
check "a node without a token is refused" test $? -ne 0
check "that refusal names the token too" grep -q "token" "$tmp/e.out"
out=$(RAYX_CLUSTER_TOKEN=wrong "$rayx" status --address "$(addr a)" 2>&1)
check "status with a wrong token is refused" test $? -ne 0
check "the strangers were not counted" test "$(alive "$(addr a)")" = 3

# A connection that never authenticates is closed within a few seconds; garbage and an oversized
# frame close their own connections; the node goes on serving.
$PY - "$(addr a)" <<'PY'
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
def closed_within(s, seconds):
    s.settimeout(seconds)
    end = time.time() + seconds
    try:
        while time.time() < end:
            if s.recv(4096) == b"":
                return True
    except (socket.timeout, ConnectionResetError):
        return isinstance(sys.exc_info()[1], ConnectionResetError)
    return False
silent = socket.create_connection((host, int(port)))
assert closed_within(silent, 6), "a silent connection stayed open"
junk = socket.create_connection((host, int(port)))
junk.sendall(b"\x20\x00\x00\x00" + b"not a flatbuffer, not a frame!!!")
assert closed_within(junk, 3), "garbage did not close the connection"
huge = socket.create_connection((host, int(port)))
huge.sendall(b"\xff\xff\xff\x0f")
assert closed_within(huge, 3), "an oversized frame did not close the connection"
print("hostile connections closed")
PY
check "silent, garbage and oversized connections are closed" test $? -eq 0
check "the node goes on serving" test "$(alive "$(addr a)")" = 3

cat >"$tmp/driver.py" <<'PY'
import rayx
rayx.init()
nodes = rayx.nodes()
assert sum(n["Alive"] for n in nodes) == 3, nodes
assert len({n["NodeID"] for n in nodes}) == 3, nodes
assert rayx.cluster_resources()["CPU"] == 3, rayx.cluster_resources()
@rayx.remote
def f(x):
    return x + 1
assert rayx.get([f.remote(i) for i in range(10)]) == list(range(1, 11))
print("driver ok")
PY
check "a driver attaches through a member and sees every node" \
  grep -q "driver ok" <<<"$(timeout 60 "$rayx" run --address "$(addr b)" "$tmp/driver.py" 2>&1)"
check "RAYX_ADDRESS=HOST:PORT attaches too" \
  grep -q "driver ok" <<<"$(RAYX_ADDRESS=$(addr c) timeout 60 "$rayx" run "$tmp/driver.py" 2>&1)"

# A silent member (stopped, its links open) is declared dead by the others within the timeout.
cpid=$(pid_of c)
kill -STOP "$cpid"
seen_by_a_b() { test "$(alive "$(addr a)")$(alive "$(addr b)")" = "$1"; }
seen_by_a() { test "$(alive "$(addr a)")" = "$1"; }
check "the stopped member still counts before the timeout" seen_by_a_b 33
check "a silent member is declared dead by all within the timeout" \
  eventually $((heartbeat_timeout + 2)) seen_by_a_b 22
kill -9 "$cpid"
# A killed member (its links close at once) is declared dead by all.
bpid=$(pid_of b)
kill -9 "$bpid"
check "a killed member is declared dead by all within the timeout" \
  eventually $((heartbeat_timeout + 1)) seen_by_a 1
# A member that comes back is a new node with a new id; the dead ones stay dead.
check "a member that comes back rejoins" start c2 '{"c": 1}' --address "$(addr a)"
check "...as a new node" test "$("$rayx" status --address "$(addr a)" --json | $PY -c '
import json, sys
nodes = json.load(sys.stdin)["nodes"]
print(len(nodes), sum(n["alive"] for n in nodes), len({n["node_id"] for n in nodes}))')" = "4 2 4"

env -u RAYX_CLUSTER_TOKEN timeout 30 "$rayx" start --node-ip-address 0.0.0.0 --port 0 \
  --data-dir "$tmp/f" >"$tmp/f.out" 2>&1
check "no token: listening beyond loopback is refused" test $? -ne 0
check "...and the refusal explains why" grep -q "without a cluster token" "$tmp/f.out"

out=$("$rayx" stop 2>&1)
check "stop says what it stopped" test "$(grep -c '^stopped node' <<<"$out")" = 2
none_left() { test "$(procs_left)" = 0; }
check "stop leaves no rayx process behind" eventually 5 none_left
check "stop with nothing running says so" grep -q "no rayx node" <<<"$("$rayx" stop 2>&1)"

[[ $fail == 0 ]] && echo "cluster: all checks held"
exit $fail
