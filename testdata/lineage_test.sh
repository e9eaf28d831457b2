#!/usr/bin/env bash
# End to end: the lineage log. Jobs are listed (rayx jobs), replayed (rayx replay: logged
# successes reused, failed and changed tasks rerun), drawn (rayx timeline, rayx.timeline), logged
# by two drivers at once, pruned; a killed driver's job reads FAILED; a corrupt or unwritable log
# never stops rayx run.
# Usage: lineage_test.sh RAYX_BINARY
set -u
RAYX=$(readlink -f "${1:?usage: $0 RAYX_BINARY}")
TMP=$(mktemp -d /tmp/rayx-lineage-e2e.XXXXXX)
export RAYX_HOME=$TMP/home
fails=0
check() {  # check "what" command...
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi
}
jobs_where() {  # jobs_where PYTHON_CONDITION_ON_j: ids of matching jobs, oldest first
  "$RAYX" jobs --json 2>/dev/null | python3 -c '
import json, sys
print(" ".join(j["job_id"] for j in json.load(sys.stdin) if eval(sys.argv[1])))' "$1"
}
last() { local ids; ids=$(jobs_where "$1"); echo "${ids##* }"; }
runs() { grep -cx "$1" "$2"; }

cat >"$TMP/pipeline.py" <<'PY'
import os, sys
import rayx
rayx.init(num_cpus=2)
trace = sys.argv[1]

@rayx.remote
def load(n):
    open(trace, "a").write(f"load {n}\n")
    return list(range(n))

@rayx.remote
def score(xs, k):
    open(trace, "a").write(f"score {k}\n")
    if k == 2 and os.path.exists(trace + ".broken"):
        raise ValueError("scoring 2 is broken")
    return sum(x * k for x in xs)

data = load.remote(10)                        # a task whose result is an argument (by ref)
print("scores", rayx.get([score.remote(data, k) for k in range(4)]))
PY

# A failed job, then its replay: only the failed task runs again.
touch "$TMP/a.trace.broken"
"$RAYX" run "$TMP/pipeline.py" "$TMP/a.trace" >/dev/null 2>&1
check "a job whose task fails exits non-zero" test $? -ne 0
failed=$(last 'j["status"] == "FAILED"')
check "rayx jobs lists it as FAILED" test -n "$failed"
check "rayx jobs (table) shows it" bash -c '"$0" jobs | grep -q "^$1 *FAILED"' "$RAYX" "$failed"
rm "$TMP/a.trace.broken"
"$RAYX" replay "$failed" >"$TMP/replay.out" 2>"$TMP/replay.err"
check "the replay exits 0" test $? = 0
check "the replay prints the results" grep -q "scores \[0, 45, 90, 135\]" "$TMP/replay.out"
check "the replay ends with its summary" grep -q "4 tasks reused, 1 tasks run; exit status 0" \
  "$TMP/replay.err"
check "load ran once" test "$(runs "load 10" "$TMP/a.trace")" = 1
check "score 0 ran once" test "$(runs "score 0" "$TMP/a.trace")" = 1
check "score 2 ran twice" test "$(runs "score 2" "$TMP/a.trace")" = 2
replay=$(last "j[\"replay_of\"] == \"$failed\"")
check "the replay is a job of its own, linked to the one it replays" test -n "$replay"
check "the replay succeeded, with 4 reused" test -n "$(jobs_where "j['job_id'] == '$replay' and \
j['status'] == 'SUCCEEDED' and j['tasks_reused'] == 4")"

# A replay of the replay reuses everything; changed code runs again.
"$RAYX" replay "$replay" >/dev/null 2>"$TMP/replay2.err"
check "a replay of a replay reuses every task" grep -q "5 tasks reused, 0 tasks run" "$TMP/replay2.err"
sed -i 's/return sum(x \* k for x in xs)/return sum(x * k for x in xs) + 0/' "$TMP/pipeline.py"
"$RAYX" replay "$replay" >/dev/null 2>"$TMP/replay3.err"
check "changed code reruns the changed tasks only" grep -q "1 tasks reused, 4 tasks run" \
  "$TMP/replay3.err"

# The timeline, from the command line and from the script.
check "rayx timeline writes Chrome trace events" bash -c '"$0" timeline "$1" -o "$2" 2>/dev/null &&
  python3 -c "
import json, sys
events = json.load(open(sys.argv[1]))
ran = [e for e in events if e[\"ph\"] == \"X\"]
assert {e[\"name\"] for e in ran} == {\"load\", \"score\"}, ran
assert all(e[\"dur\"] >= 0 and isinstance(e[\"tid\"], int) for e in ran)
assert any(e.get(\"cname\") == \"terrible\" for e in ran), \"the failure is marked\"
assert any(e[\"ph\"] == \"M\" for e in events), \"rows are named\"
" "$2"' "$RAYX" "$failed" "$TMP/trace.json"
check "rayx.timeline() returns the job's events" bash -c '"$0" run -c "
import rayx
rayx.init(num_cpus=1)
f = rayx.remote(lambda: 1)
rayx.get([f.remote() for _ in range(3)])
events = rayx.timeline()
assert len([e for e in events if e[\"ph\"] == \"X\"]) == 3, events
rayx.timeline(\"$1\")
print(\"timeline ok\")
" 2>&1 | grep -q "timeline ok" && python3 -c "import json; json.load(open(\"$1\"))"' "$RAYX" \
  "$TMP/own.json"

# Every task's parent is logged: the driver's, a task's (through the node and leased workers
# alike), an actor call's.
check "the timeline names each task's parent" bash -c '"$0" run -c "
import rayx
rayx.init(num_cpus=2)

@rayx.remote
def inner(i):
    return i

@rayx.remote
def outer():
    return sum(rayx.get([inner.remote(i) for i in range(5)]))

@rayx.remote
class Caller:
    def call(self):
        return rayx.get(inner.remote(-1))

assert rayx.get([outer.remote() for _ in range(3)]) == [10, 10, 10]
caller = Caller.remote()
assert rayx.get(caller.call.remote()) == -1
ran = [e for e in rayx.timeline() if e[\"ph\"] == \"X\"]
by_id = {e[\"args\"][\"task_id\"]: e for e in ran}
inners = [e for e in ran if e[\"name\"] == \"inner\"]
assert len(inners) == 16, len(inners)
parents = [by_id[e[\"args\"][\"parent\"]][\"name\"] for e in inners]
assert sorted(parents) == [\"Caller.call\"] + [\"outer\"] * 15, parents
drivers = {e[\"args\"].get(\"parent\") for e in ran if e[\"name\"] in (\"outer\", \"Caller.call\")}
assert len(drivers) == 1 and None not in drivers and drivers.isdisjoint(by_id), drivers
print(\"parents ok\")
" 2>&1 | tee /dev/stderr | grep -q "parents ok"' "$RAYX"

# Two drivers at once both log, and rayx jobs reads while they run.
cat >"$TMP/slow.py" <<'PY'
import sys, time
import rayx
rayx.init(num_cpus=1)
f = rayx.remote(lambda i: i)
print(sum(rayx.get([f.remote(i) for i in range(20)])))
time.sleep(float(sys.argv[1]))
PY
"$RAYX" run "$TMP/slow.py" 3 >/dev/null 2>&1 &
one=$!
"$RAYX" run "$TMP/slow.py" 3 >/dev/null 2>&1 &
two=$!
running=""
for _ in $(seq 50); do
  running=$(jobs_where 'j["status"] == "RUNNING" and j["tasks_finished"] == 20')
  [ "$(wc -w <<<"$running")" = 2 ] && break
  sleep 0.1
done
check "two drivers at once are both listed RUNNING with their tasks" test "$(wc -w <<<"$running")" = 2
wait "$one" "$two"
for id in $running; do
  check "driver $id ended SUCCEEDED" test -n "$(jobs_where "j['job_id'] == '$id' and j['status'] == 'SUCCEEDED'")"
done

# A driver killed outright: its job reads FAILED.
"$RAYX" run "$TMP/slow.py" 30 >/dev/null 2>&1 &
victim=$!
for _ in $(seq 50); do [ -n "$(jobs_where "j['pid'] == $victim and j['tasks_finished'] == 20")" ] && break; sleep 0.1; done
kill -9 "$victim"; wait "$victim" 2>/dev/null
check "a killed driver's job reads FAILED" \
  test -n "$(jobs_where "j['pid'] == $victim and j['status'] == 'FAILED' and j['tasks_finished'] == 20")"

# RAYX_LINEAGE=0 logs nothing.
before=$(jobs_where True | wc -w)
RAYX_LINEAGE=0 "$RAYX" run "$TMP/slow.py" 0 >/dev/null 2>&1
check "RAYX_LINEAGE=0 logs no job" test "$(jobs_where True | wc -w)" = "$before"

# A corrupt database is an error naming it; rayx jobs still lists the rest; rayx run still runs.
mkdir -p "$RAYX_HOME/lineage/corrupt" && echo garbage >"$RAYX_HOME/lineage/corrupt/CURRENT"
"$RAYX" jobs >"$TMP/jobs.out" 2>"$TMP/jobs.err"
check "rayx jobs with a corrupt database fails" test $? = 1
check "the error names the database" grep -q "$RAYX_HOME/lineage/corrupt" "$TMP/jobs.err"
check "the other jobs are still listed" grep -q "$failed" "$TMP/jobs.out"
check "rayx run still runs" bash -c '"$0" run "$1" 0 2>/dev/null | grep -qx 190' "$RAYX" "$TMP/slow.py"
rm -rf "$RAYX_HOME/lineage/corrupt"
mkdir -p "$TMP/blocked" && echo "not a directory" >"$TMP/blocked/lineage"
RAYX_HOME=$TMP/blocked "$RAYX" run "$TMP/slow.py" 0 >"$TMP/blocked.out" 2>"$TMP/blocked.err"
check "an unwritable log leaves rayx run running" grep -qx 190 "$TMP/blocked.out"
check "with a warning naming it" grep -q "$TMP/blocked/lineage" "$TMP/blocked.err"

# Retention.
"$RAYX" jobs --prune --keep 2 >/dev/null 2>&1
check "rayx jobs --prune --keep 2 keeps two jobs" test "$(jobs_where True | wc -w)" = 2

rm -rf "$TMP"
if [ "$fails" = 0 ]; then echo "all checks held"; exit 0; fi
echo "$fails checks failed"; exit 1
