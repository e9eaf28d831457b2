"""Soak: a steady mixed workload for a while; resident memory, descriptors and files stay flat.

    rayx run testdata/soak/soak.py [--minutes 60] [--sample 10] [--max-slope-mib-per-hour 64]

Each round: 200 small tasks, 20 tasks with 1 MB results read back, 20 puts of 1 MB read by a
task, 50 calls to each of two actors, and a nested task; the results are checked. Every --sample
seconds it records the resident memory of the driver (which holds the node) and of its workers,
their open file descriptors, and the files in the object store's directory. The first fifth of
the run is warm-up (workers start, caches fill); over the rest each series is fitted with a
line, and the run fails when a memory slope passes --max-slope-mib-per-hour, or when descriptors
or store files grow by more than a few. Prints the samples' summary and the slopes.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import rayx
from rayx._private import worker as worker_lib


def children() -> list[int]:
    out = []
    me = os.getpid()
    for tid in os.listdir(f"/proc/{me}/task"):
        try:
            with open(f"/proc/{me}/task/{tid}/children") as f:
                out.extend(int(p) for p in f.read().split())
        except OSError:
            pass
    return out


def rss_mib(pid) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def fds(pid) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def slope_per_hour(times: list, values: list) -> float:
    n = len(times)
    mt, mv = sum(times) / n, sum(values) / n
    den = sum((t - mt) ** 2 for t in times)
    return 0.0 if den == 0 else sum((t - mt) * (v - mv) for t, v in zip(times, values)) / den * 3600


@rayx.remote
def inc(x):
    return x + 1


@rayx.remote
def block(i):
    return np.full(131_072, i, dtype=np.int64)


@rayx.remote
def total(v):
    return int(v.sum())


@rayx.remote
def outer(x):
    return rayx.get(inc.remote(x)) * 2


@rayx.remote
class Counter:
    def __init__(self):
        self.n = 0

    def add(self, k):
        self.n += k
        return self.n


def round_of_work(counters, base: int) -> None:
    assert rayx.get([inc.remote(base + i) for i in range(200)]) == [base + i + 1 for i in range(200)]
    blocks = rayx.get([block.remote(i) for i in range(20)])
    assert all(int(b[-1]) == i for i, b in enumerate(blocks))
    del blocks
    puts = [rayx.put(np.full(131_072, 1, dtype=np.int64)) for _ in range(20)]
    assert rayx.get([total.remote(p) for p in puts]) == [131_072] * 20
    del puts
    for c in counters:
        before = rayx.get(c.add.remote(0))
        assert rayx.get([c.add.remote(1) for _ in range(50)])[-1] == before + 50
    assert rayx.get(outer.remote(base)) == (base + 1) * 2


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--sample", type=float, default=10)
    parser.add_argument("--max-slope-mib-per-hour", type=float, default=64)
    args = parser.parse_args()
    rayx.init()
    store_dir = worker_lib.object_store_stats()["store_dir"]
    counters = [Counter.remote(), Counter.remote()]
    start = time.monotonic()
    end = start + args.minutes * 60
    samples = []  # (t, driver MiB, workers MiB, fds, store files)
    next_sample = start
    rounds = 0
    while time.monotonic() < end:
        round_of_work(counters, rounds)
        rounds += 1
        now = time.monotonic()
        if now >= next_sample:
            kids = children()
            samples.append((now - start, rss_mib("self"), sum(rss_mib(p) for p in kids),
                            fds("self") + sum(fds(p) for p in kids), len(os.listdir(store_dir)),
                            len(kids)))
            next_sample = now + args.sample
    steady = [s for s in samples if s[0] >= args.minutes * 60 / 5]
    if len(steady) < 3:
        print("soak: too few samples to judge", file=sys.stderr)
        return 1
    t = [s[0] for s in steady]
    driver_slope = slope_per_hour(t, [s[1] for s in steady])
    workers_slope = slope_per_hour(t, [s[2] for s in steady])
    fd_growth = steady[-1][3] - steady[0][3]
    file_growth = steady[-1][4] - steady[0][4]
    print(f"soak: {rounds} rounds in {args.minutes:g} min; driver+node RSS "
          f"{steady[0][1]:.0f} -> {steady[-1][1]:.0f} MiB (slope {driver_slope:+.1f} MiB/h), "
          f"workers ({steady[-1][5]}) {steady[0][2]:.0f} -> {steady[-1][2]:.0f} MiB "
          f"(slope {workers_slope:+.1f} MiB/h), descriptors {steady[0][3]} -> {steady[-1][3]}, "
          f"store files {steady[0][4]} -> {steady[-1][4]}")
    bad = []
    if driver_slope > args.max_slope_mib_per_hour:
        bad.append("driver memory grows")
    if workers_slope > args.max_slope_mib_per_hour:
        bad.append("workers' memory grows")
    if fd_growth > 8:
        bad.append("descriptors grow")
    if file_growth > 8:
        bad.append("store files grow")
    if bad:
        print("soak: FAILED: " + ", ".join(bad), file=sys.stderr)
        return 1
    print("soak: flat")
    return 0


if __name__ == "__main__":
    sys.exit(main())
