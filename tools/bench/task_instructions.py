"""Instructions per task, counted by valgrind's callgrind: exact where timings on a shared machine
are not, so that a change of a few percent in the cost of a task shows.

    /usr/bin/python3 tools/bench/task_instructions.py [--rayx PATH] [--batches N] [--keep DIR]

Runs `rayx run` of a script that submits batches of 1,000 no-op tasks and gets them
(single_client_tasks_and_get_batch's shape) with the driver under callgrind, and its workers too:
RAYX_WORKER_EXECUTABLE names a wrapper that starts each under callgrind. The counters of every
process are zeroed after a warm-up and dumped after the measured batches (callgrind_control), and
the user-space instructions are printed per task: the driver's process (its Python and the
embedded node), the workers', and both. The kernel's share is not counted.

Needs valgrind (Debian's `valgrind` package); takes about a minute for the default 3 batches.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_RAYX = os.path.join(HERE, "..", "..", "bazel-bin", "rayx")

# Run by `rayx run` under callgrind. Workers are started before the counters are zeroed (a warm-up
# batch, a pause, another), so that no start-up is counted.
DRIVER_SCRIPT = """
import subprocess, sys, time
import rayx
rayx.init()
@rayx.remote
def noop():
    return None
batches = int(sys.argv[1])
rayx.get([noop.remote() for _ in range(1000)])
time.sleep(4)
rayx.get([noop.remote() for _ in range(1000)])
time.sleep(1)
subprocess.run(["callgrind_control", "-z"], capture_output=True)
for _ in range(batches):
    rayx.get([noop.remote() for _ in range(1000)])
time.sleep(0.5)
subprocess.run(["callgrind_control", "-d"], capture_output=True)
"""

WORKER_WRAPPER = """#!/bin/sh
exec valgrind --tool=callgrind --callgrind-out-file={out}/worker.%p {rayx} "$@"
"""


def dumped_total(path: str) -> int:
    """The event total of one callgrind dump file."""
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise ValueError(f"{path} has no totals")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rayx", default=DEFAULT_RAYX)
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--keep", help="keep the callgrind files in this directory")
    args = parser.parse_args()
    for tool in ("valgrind", "callgrind_control"):
        if shutil.which(tool) is None:
            print(f"task_instructions: {tool} is not installed (apt-get install valgrind)",
                  file=sys.stderr)
            return 1
    rayx = os.path.abspath(args.rayx)
    out = args.keep or tempfile.mkdtemp(prefix="rayx-callgrind-")
    os.makedirs(out, exist_ok=True)
    for old in glob.glob(os.path.join(out, "*")):
        os.remove(old)
    wrapper = os.path.join(out, "worker.sh")
    with open(wrapper, "w") as f:
        f.write(WORKER_WRAPPER.format(out=out, rayx=rayx))
    os.chmod(wrapper, 0o755)
    script = os.path.join(out, "batches.py")
    with open(script, "w") as f:
        f.write(DRIVER_SCRIPT)
    env = dict(os.environ, RAYX_WORKER_EXECUTABLE=wrapper, RAYX_LINEAGE="0",
               RAYX_HOME=tempfile.mkdtemp(prefix="rayx-callgrind-home-"))
    run = subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/driver.%p", rayx, "run",
         script, str(args.batches)],
        env=env, capture_output=True, text=True, timeout=900)
    if run.returncode != 0:
        print(run.stdout + run.stderr, file=sys.stderr)
        return 1
    totals = {"driver": 0, "workers": 0}
    for path in glob.glob(os.path.join(out, "*.*.*")):
        if re.search(r"\.\d+\.\d+$", path):  # A dump: NAME.PID.PART.
            kind = "driver" if os.path.basename(path).startswith("driver.") else "workers"
            totals[kind] += dumped_total(path)
    tasks = args.batches * 1000
    if totals["driver"] == 0 or totals["workers"] == 0:
        print(f"task_instructions: no dumps in {out}", file=sys.stderr)
        return 1
    per_task = {kind: total / tasks for kind, total in totals.items()}
    print(f"instructions per task: driver and node {per_task['driver']:,.0f}, "
          f"workers {per_task['workers']:,.0f}, "
          f"all {per_task['driver'] + per_task['workers']:,.0f}")
    if not args.keep:
        shutil.rmtree(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
