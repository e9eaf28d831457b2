"""The lineage log's cost: `rayx microbenchmark` single_client_tasks_async and _sync with the log on
and off (RAYX_LINEAGE=0), interleaved in one run (on, off, on, off, ...), medians per setting.

Usage: python3 tools/bench/lineage_cost.py RAYX_BINARY [ROUNDS] [SECONDS]
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile


def measure(rayx: str, lineage: str, seconds: str, home: str) -> dict:
    env = dict(os.environ, RAYX_LINEAGE=lineage, RAYX_HOME=home)
    out = subprocess.run(
        [rayx, "microbenchmark", "--filter", "single_client_tasks_", "--json", "--seconds", seconds,
         "--runs", "3"], env=env, capture_output=True, text=True, check=True).stdout
    rows = json.loads(out)
    rows = rows["results"] if isinstance(rows, dict) else rows
    return {r["name"]: r["value"] for r in rows
            if "value" in r and r["name"] in ("single_client_tasks_async", "single_client_tasks_sync")}


def main() -> None:
    rayx = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    seconds = sys.argv[3] if len(sys.argv) > 3 else "1"
    figures = {"1": {}, "0": {}}
    with tempfile.TemporaryDirectory() as home:
        for i in range(rounds):
            for lineage in ("1", "0"):
                for metric, value in measure(rayx, lineage, seconds, home).items():
                    figures[lineage].setdefault(metric, []).append(value)
                print(f"round {i + 1} lineage={lineage}: "
                      + ", ".join(f"{m} {v[-1]:.0f}" for m, v in sorted(figures[lineage].items())),
                      flush=True)
    for metric in sorted(figures["1"]):
        on = statistics.median(figures["1"][metric])
        off = statistics.median(figures["0"][metric])
        print(f"{metric}: on {on:.0f}/s, off {off:.0f}/s, cost {100 * (1 - on / off):.1f}% "
              f"(medians of {rounds})")


if __name__ == "__main__":
    main()
