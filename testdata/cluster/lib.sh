# The shared beginning of the tests that run three node daemons on loopback (sourced, not run).
# Before sourcing it, a test sets rayx (the binary) and RAYX_CLUSTER_TOKEN. It gives:
#   $tmp, a fresh directory, and a fresh $RAYX_HOME, both removed at exit with the nodes killed;
#   fail=0, which check sets to 1;
#   check WHAT COMMAND...  runs COMMAND and prints "ok: WHAT" or "FAIL: WHAT" (status 1 then);
#   start NAME RESOURCES [ARGS...]  a daemon with one CPU, those resources and a heartbeat
#     timeout of $heartbeat_timeout seconds (2 unless the test set it), its data in $tmp/NAME and
#     its output in $tmp/NAME.out;
#   addr NAME, pid_of NAME  the address and pid that node wrote to its node.info.
export RAYX_HOME=$(mktemp -d)
tmp=$(mktemp -d)
fail=0

check() {  # check WHAT COMMAND...
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fail=1; return 1; fi
}
addr() { sed -n 's/^address=//p' "$tmp/$1/node.info"; }
pid_of() { sed -n 's/^pid=//p' "$tmp/$1/node.info"; }
cleanup() {
  local node
  for node in "$tmp"/*/node.info; do
    [[ -f $node ]] && kill -9 "$(sed -n 's/^pid=//p' "$node")" 2>/dev/null
  done
  rm -rf "$tmp" "$RAYX_HOME"
}
trap cleanup EXIT
start() {  # start NAME RESOURCES [ARGS...]
  local name=$1 res=$2
  shift 2
  timeout 60 "$rayx" start --port 0 --num-cpus 1 --resources "$res" \
    --heartbeat-timeout "${heartbeat_timeout:-2}" \
    --data-dir "$tmp/$name" "$@" >"$tmp/$name.out" 2>&1
}
