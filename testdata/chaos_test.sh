#!/usr/bin/env bash
# Chaos, short form: a mixed job of 3,000 tasks (plain, chained, nested, 1 MB results) while a
# worker is killed with SIGKILL every 100 ms, then the same with actor calls (max_restarts=-1,
# max_task_retries=-1) and actor workers among the killed; every result must be right, and some
# workers must have been killed. The long form is tools/chaos.sh.
set -u
rayx=$(readlink -f "$1")
script=$(dirname "$0")/chaos/chaos.py
export RAYX_HOME=$(mktemp -d)
trap 'rm -rf "$RAYX_HOME"' EXIT
# Under AddressSanitizer (bazel test --config=asan sets RAYX_SANITIZER) a worker takes about ten
# times as long to start and to run: fewer tasks, and a kill every 500 ms.
tasks=3000 every=0.1
# The kills stop after this many seconds if the job has not ended (chaos.py --kill-for: on a loaded
# machine a kill every 100 ms can starve a nested task for good); every result must still come.
kill_for=${CHAOS_KILL_FOR:-120}
[[ ${RAYX_SANITIZER:-} == asan ]] && tasks=600 every=0.5
fail=0
for mode in "" --actors; do
  out=$(timeout 300 "$rayx" run "$script" --tasks $tasks --kill-every $every --kill-for "$kill_for" $mode 2>&1 |
    grep -v 'retrying it\|restart')
  code=$?
  echo "$out" | tail -3
  line=$(grep '^chaos:' <<<"$out")
  if [[ -z $line ]] || ! grep -q ' 0 wrong$' <<<"$line"; then
    echo "FAIL: chaos ${mode:-tasks}: not every result was right"
    fail=1
  elif grep -q ' 0 workers killed' <<<"$line"; then
    echo "FAIL: chaos ${mode:-tasks}: no worker was killed, so nothing was tested"
    fail=1
  else
    echo "ok: chaos ${mode:-tasks}"
  fi
done
exit $fail
