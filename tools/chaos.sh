#!/usr/bin/env bash
# Chaos, long form: RUNS runs in a row (default 20) of testdata/chaos/chaos.py with 10,000 tasks,
# a worker killed every 100 ms, alternately without and with actors. Stops at the first run with
# a wrong result and prints its seed, so that it can be run again.
#   tools/chaos.sh [RUNS] [RAYX]
# With CHAOS_CLUSTER=1, each run is testdata/chaos_cluster_test.sh with 10,000 tasks: three node
# daemons, the job sent with SPREAD, a worker of one of them killed every 100 ms (both forms).
# CHAOS_KILL_FOR (default 600): the kills stop after that many seconds of a run, and every result
# must then come in (a bound, so that a loaded machine starves no task for good: chaos.py).
set -u
export CHAOS_KILL_FOR=${CHAOS_KILL_FOR:-600}
kill_for=$CHAOS_KILL_FOR
runs=${1:-20}
rayx=${2:-bazel-bin/rayx}
here=$(cd "$(dirname "$0")/.." && pwd)
export RAYX_HOME=${RAYX_HOME:-$(mktemp -d)}
for i in $(seq "$runs"); do
  if [[ ${CHAOS_CLUSTER:-0} == 1 ]]; then
    out=$(CHAOS_TASKS=10000 "$here/testdata/chaos_cluster_test.sh" "$rayx" \
      "$here/testdata/chaos/chaos.py" 2>&1)
    status=$?
    echo "run $i (three nodes):"
    grep '^chaos:\|^FAIL\|^ok' <<<"$out" | sed 's/^/  /'
    [[ $status == 0 ]] || exit 1
    continue
  fi
  mode=""
  ((i % 2 == 0)) && mode=--actors
  line=$("$rayx" run "$here/testdata/chaos/chaos.py" --tasks 10000 --kill-for "$kill_for" $mode \
    2>/dev/null | grep '^chaos:')
  echo "run $i ${mode:-(tasks)}: ${line:-no summary (the job failed)}"
  grep -q ' 0 wrong$' <<<"$line" || exit 1
done
echo "all $runs runs right"
