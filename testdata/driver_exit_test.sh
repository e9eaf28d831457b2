#!/usr/bin/env bash
# When the driver dies, however it dies, its workers end with it: after a clean exit, after an
# uncaught exception, and after SIGKILL in the middle of running tasks.
set -u
rayx=$(readlink -f "$1")
export RAYX_HOME=$(mktemp -d)
tmp=$(mktemp -d)
fail=0

workers_left() {
  local p n=0
  for p in /proc/[0-9]*; do
    [[ $(readlink "$p/exe" 2>/dev/null) == "$rayx" ]] || continue
    tr '\0' '\n' <"$p/environ" 2>/dev/null | grep -qx "RAYX_HOME=$RAYX_HOME" && n=$((n + 1))
  done
  echo $n
}

expect_no_workers() {  # expect_no_workers WHAT
  local i
  for i in $(seq 50); do
    [[ $(workers_left) == 0 ]] && { echo "ok: $1"; return; }
    sleep 0.1
  done
  echo "FAIL: $1 ($(workers_left) rayx processes left)"
  fail=1
}

cat >"$tmp/raises.py" <<'PY'
import rayx
rayx.init(num_cpus=2)
@rayx.remote
def f():
    return 1
rayx.get([f.remote() for _ in range(4)])
raise SystemExit("driver gives up")
PY
"$rayx" run "$tmp/raises.py" >/dev/null 2>&1
expect_no_workers "workers end when the driver exits with an error"

cat >"$tmp/sleeps.py" <<'PY'
import time
import rayx
rayx.init(num_cpus=2)
@rayx.remote
def forever():
    time.sleep(1000)
refs = [forever.remote() for _ in range(2)]
print("started", flush=True)
time.sleep(1000)
PY
"$rayx" run "$tmp/sleeps.py" >"$tmp/out" 2>&1 &
driver=$!
for i in $(seq 100); do grep -q started "$tmp/out" && break; sleep 0.1; done
sleep 0.5
[[ $(workers_left) -ge 3 ]] && echo "ok: workers run" || { echo "FAIL: no workers seen"; fail=1; }
kill -9 $driver
wait $driver 2>/dev/null
expect_no_workers "workers end when the driver is killed"
leftover=$(ls -d /dev/shm/rayx-$driver-* 2>/dev/null)
# A killed driver cannot clean up; the next node to start removes its session directory.
"$rayx" run -c 'import rayx; rayx.init(num_cpus=1); rayx.shutdown()'
[[ -z $leftover || ! -e $leftover ]] && echo "ok: a dead driver's session is cleaned up" ||
  { echo "FAIL: $leftover left behind"; fail=1; }
rm -rf "$tmp" "$RAYX_HOME"
exit $fail
