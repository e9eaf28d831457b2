#!/usr/bin/env bash
# End to end: a short `rayx microbenchmark` runs every workload and reports a number (or, for the
# actor workloads in a build without actors, the reason for skipping) under each of Ray's metric
# names. The values themselves are not checked: only that the benchmark still runs.
# Usage: microbenchmark_test.sh RAYX_BINARY
set -u
# Its own data directory (lineage log, sessions): not the machine's, which other tests share.
export RAYX_HOME=$(mktemp -d)
trap 'rm -rf "$RAYX_HOME"' EXIT
RAYX=$(readlink -f "${1:?usage: $0 RAYX_BINARY}")
OUT=${TEST_TMPDIR:-$(mktemp -d)}
fails=0
check() {  # check "what" command...
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi
}
status() { "$@" >/dev/null 2>&1; echo $?; }

"$RAYX" microbenchmark --seconds 0.05 --runs 1 --json >"$OUT/all.json" 2>"$OUT/all.err"
check "a short run of every workload succeeds" test $? = 0
check "every metric has a positive number or a reason" /usr/bin/python3 - "$OUT/all.json" <<'PY'
import json, math, sys
doc = json.load(open(sys.argv[1]))
names = """single_client_tasks_sync single_client_tasks_async multi_client_tasks_async
single_client_put_calls single_client_get_calls single_client_put_gigabytes
single_client_wait_1k_refs single_client_get_object_containing_10k_refs
single_client_tasks_and_get_batch 1_1_actor_calls_sync 1_1_actor_calls_async
1_1_actor_calls_concurrent 1_n_actor_calls_async n_n_actor_calls_async
1_1_async_actor_calls_async""".split()
# Ray's multi_client_tasks_async submits from actors, so it needs them too.
actor_metrics = {n for n in names if "actor" in n} | {"multi_client_tasks_async"}
results = {r["name"]: r for r in doc["results"]}
ok = True
for name in names:
    r = results.get(name)
    if r is None:
        print("missing:", name); ok = False
    elif "skipped" in r:
        if r["skipped"] != "skipped: actors not available in this build" or name not in actor_metrics:
            print("unexpected skip:", name, r["skipped"]); ok = False
    elif not (isinstance(r["value"], float) and math.isfinite(r["value"]) and r["value"] > 0
              and len(r["runs"]) == 1):
        print("bad value:", name, r); ok = False
tasks = results.get("single_client_tasks_sync", {})
if "value" not in tasks:
    print("the task workloads must never be skipped"); ok = False
sys.exit(0 if ok else 1)
PY
check "text output: one line per chosen metric" bash -c \
  '"$0" microbenchmark --seconds 0.05 --runs 1 --filter put_calls | grep -Eq "^single_client_put_calls per second [0-9.]+ \+- [0-9.]+$"' \
  "$RAYX"
check "a filter that matches nothing fails" test "$(status "$RAYX" microbenchmark --filter nosuchmetric)" = 2
check "a non-positive --seconds is a usage error" test "$(status "$RAYX" microbenchmark --seconds 0)" = 2
check "--help describes microbenchmark" bash -c '"$0" microbenchmark --help | grep -q -- "--seconds"' "$RAYX"

if [ "$fails" = 0 ]; then echo "all checks held"; exit 0; fi
cat "$OUT/all.err"
echo "$fails checks failed"; exit 1
