#!/usr/bin/env bash
# Ctrl-C reaches a driver blocked in rayx.get as KeyboardInterrupt, promptly.
#   interrupt_test.sh RAYX SCRIPT
set -u
rayx=$(readlink -f "$1")
export RAYX_HOME=$(mktemp -d)
# A process started in the background by a non-interactive shell ignores SIGINT; Python's
# subprocess with the default disposition gives the driver the Ctrl-C a terminal would.
/usr/bin/python3 - "$rayx" "$2" <<'PY'
import signal, subprocess, sys, time
driver = subprocess.Popen([sys.argv[1], "run", sys.argv[2]], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
line = driver.stdout.readline().strip()
if line != "waiting":
    driver.kill()
    sys.exit(f"FAIL: the driver said {line!r} before blocking: {driver.stdout.read()}")
time.sleep(0.5)
sent = time.time()
driver.send_signal(signal.SIGINT)
try:
    out, _ = driver.communicate(timeout=5)
except subprocess.TimeoutExpired:
    driver.kill()
    sys.exit("FAIL: the driver ignored Ctrl-C while blocked in get")
print(f"driver ended {time.time() - sent:.2f} s after Ctrl-C with status {driver.returncode}")
if driver.returncode != 0 or "interrupted" not in out:
    sys.exit(f"FAIL: expected a KeyboardInterrupt in get, got: {out}")
print("ok: Ctrl-C interrupts get")
PY
status=$?
rm -rf "$RAYX_HOME"
exit $status
