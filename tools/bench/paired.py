"""Two builds of rayx, row by row, in pairs of short runs: on a shared machine whose speed drifts
over minutes, the ratio of two runs seconds apart drifts less than that of whole rounds.

    /usr/bin/python3 tools/bench/paired.py OLD_RAYX NEW_RAYX [--pairs K] [--rows ROW,ROW,...]
                                           [--lineage]

For each row of `rayx microbenchmark`, K pairs of `--runs 1 --seconds 1 --filter ROW` runs, one of
each build, each in a fresh RAYX_HOME, the order alternating from pair to pair (old then new, new
then old); prints the median of the K ratios new/old, each build's median, and every ratio, so
that the spread shows. The lineage log is off (RAYX_LINEAGE=0) unless --lineage: a build from
before the log has none to pay for.
"""

from __future__ import annotations

import argparse
import ast
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from compare import BenchError, run_rayx  # noqa: E402  (tools/bench/compare.py, beside this file)

MICROBENCHMARK = os.path.join(HERE, "..", "..", "embed", "python", "rayx", "_private",
                              "microbenchmark.py")


def microbenchmark_rows() -> list:
    """Every row of `rayx microbenchmark`, in its order: METRICS, read from the module's source (the
    module itself runs only inside rayx)."""
    with open(MICROBENCHMARK) as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == "METRICS" for target in node.targets):
            return list(ast.literal_eval(node.value))
    raise BenchError(f"{MICROBENCHMARK} has no METRICS")


def one_run(rayx: str, row: str, env: dict) -> float:
    """One second of one row, in a RAYX_HOME of its own; returns the row's figure."""
    with tempfile.TemporaryDirectory(prefix="rayx-paired-") as home:
        values, skipped = run_rayx(rayx, 1, 1, row, dict(env, RAYX_HOME=home))
    if row in skipped:
        raise BenchError(f"{rayx} skipped {row}: {skipped[row]}")
    if values.get(row, 0) <= 0:
        raise BenchError(f"{rayx} microbenchmark gave no figure for {row}")
    return values[row]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--pairs", type=int, default=6)
    parser.add_argument("--rows", help="comma-separated; by default every row")
    parser.add_argument("--lineage", action="store_true", help="keep the lineage log on")
    args = parser.parse_args()
    if args.pairs < 1:
        parser.error("--pairs must be at least 1")
    env = dict(os.environ)
    if not args.lineage:
        env["RAYX_LINEAGE"] = "0"
    builds = {"old": os.path.abspath(args.old), "new": os.path.abspath(args.new)}
    try:
        rows = args.rows.split(",") if args.rows else microbenchmark_rows()
        for row in rows:
            figures = {"old": [], "new": []}
            for pair in range(args.pairs):
                order = ("old", "new") if pair % 2 == 0 else ("new", "old")
                for build in order:
                    figures[build].append(one_run(builds[build], row, env))
            ratios = [new / old for old, new in zip(figures["old"], figures["new"])]
            print(f"{row:46s} new/old {statistics.median(ratios):.3f}  "
                  f"old {statistics.median(figures['old']):,.1f}  "
                  f"new {statistics.median(figures['new']):,.1f}  "
                  f"pairs {' '.join(f'{r:.2f}' for r in ratios)}", flush=True)
    except (BenchError, OSError, subprocess.TimeoutExpired, ValueError) as error:
        print(f"paired: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
