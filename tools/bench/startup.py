"""Start-up time of rayx, end to end: a program that calls init, runs one task and gets it.

    /usr/bin/python3 tools/bench/startup.py [--rayx PATH] [--runs N]

Times `rayx run -c PROGRAM` from the outside (process start to process exit, so interpreter
start, node start, the first worker's start and shutdown all count) and prints the median wall
time of the runs as "startup_seconds S". Exits 1 when the program fails or prints a wrong value.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

PROGRAM = """
import rayx
rayx.init()
@rayx.remote
def one():
    return 1
print(rayx.get(one.remote()))
"""


def measure(rayx_binary: str, runs: int = 5) -> list[float]:
    """Returns the wall time of each run of PROGRAM, in seconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        out = subprocess.run([rayx_binary, "run", "-c", PROGRAM], capture_output=True, text=True,
                             timeout=60)
        elapsed = time.perf_counter() - start
        if out.returncode != 0 or out.stdout.strip() != "1":
            raise RuntimeError(f"the start-up program failed (status {out.returncode}):\n"
                               f"{out.stdout}{out.stderr}")
        times.append(elapsed)
    return times


def default_rayx() -> str:
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bazel-bin", "rayx")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rayx", default=default_rayx())
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    try:
        times = measure(args.rayx, args.runs)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        print(f"startup: {e}", file=sys.stderr)
        return 1
    print(f"startup_seconds {statistics.median(times):.3f}  (runs: "
          + ", ".join(f"{t:.3f}" for t in times) + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
