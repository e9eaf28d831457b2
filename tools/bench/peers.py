"""The microbenchmark's workloads on the tools a user would pick instead of rayx.

Run with Debian's /usr/bin/python3 (python3-dask and python3-distributed provide Dask):

    /usr/bin/python3 tools/bench/peers.py PEER [--seconds S] [--runs N] [--quick]

PEER is one of: multiprocessing (multiprocessing.Pool), futures
(concurrent.futures.ProcessPoolExecutor), dask (dask.distributed on a LocalCluster of processes)
or numpy (a plain copy of an array into a fresh buffer: the bound for single_client_put_gigabytes).
Each peer gets two worker processes, as rayx does on this machine. Prints one JSON object:
{"peer": PEER, "results": {metric: rate}} with rates per second under rayx's metric names, each
the median of the timed runs after a warm-up, timed like `rayx microbenchmark`.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from typing import Any, Callable

WORKERS = 2
BIG_ELEMENTS = 100 * 1024 * 1024  # int64s: the 800 MiB array of single_client_put_gigabytes.


def small_value() -> bytes:
    return b"ok"


class Counter:
    """A Dask actor with the method Ray's actor workloads call."""

    def small_value(self) -> bytes:
        return b"ok"


class Timer:
    def __init__(self, seconds: float, runs: int):
        self.seconds = seconds
        self.runs = runs
        self.results: dict[str, float] = {}

    def time(self, name: str, fn: Callable[[], Any], multiplier: float = 1) -> None:
        """Same scheme as rayx's microbenchmark: a warm-up, then the median of timed runs."""
        start, calls = time.perf_counter(), 0
        while calls == 0 or time.perf_counter() - start < self.seconds / 2:
            fn()
            calls += 1
        per_call = (time.perf_counter() - start) / calls
        step = max(1, int(self.seconds / per_call / 10))
        rates = []
        for _ in range(self.runs):
            start, count = time.perf_counter(), 0
            while count == 0 or time.perf_counter() - start < self.seconds:
                for _ in range(step):
                    fn()
                count += step
            rates.append(multiplier * count / (time.perf_counter() - start))
        self.results[name] = statistics.median(rates)


def run_multiprocessing(t: Timer, quick: bool) -> None:
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(WORKERS) as pool:
        t.time("single_client_tasks_sync", lambda: pool.apply(small_value))
        t.time("single_client_tasks_async",
               lambda: [r.get() for r in [pool.apply_async(small_value) for _ in range(1000)]],
               1000)


def run_futures(t: Timer, quick: bool) -> None:
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(WORKERS) as ex:
        t.time("single_client_tasks_sync", lambda: ex.submit(small_value).result())
        t.time("single_client_tasks_async",
               lambda: [f.result() for f in [ex.submit(small_value) for _ in range(1000)]], 1000)


def run_dask(t: Timer, quick: bool) -> None:
    import numpy as np
    from dask.distributed import Client, LocalCluster

    logging.getLogger("distributed").setLevel(logging.ERROR)
    with LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as c:
        t.time("single_client_tasks_sync", lambda: c.submit(small_value, pure=False).result())
        t.time("single_client_tasks_async",
               lambda: c.gather([c.submit(small_value, pure=False) for _ in range(1000)]), 1000)
        # put: scatter a small value to a worker; get: the value of a future that is done.
        t.time("single_client_put_calls", lambda: c.scatter(b"ok"))
        held = c.scatter(0)
        t.time("single_client_get_calls", held.result)
        if not quick:
            arr = np.zeros(BIG_ELEMENTS, dtype=np.int64)
            t.time("single_client_put_gigabytes", lambda: c.scatter(arr), 8 * 0.1)
            del arr
        actor = c.submit(Counter, actor=True).result()
        t.time("1_1_actor_calls_sync", lambda: actor.small_value().result())
        t.time("1_1_actor_calls_async",
               lambda: [f.result() for f in [actor.small_value() for _ in range(1000)]], 1000)


def run_numpy(t: Timer, quick: bool) -> None:
    import numpy as np

    arr = np.zeros(BIG_ELEMENTS, dtype=np.int64)

    def copy_to_fresh_buffer() -> None:
        out = np.empty_like(arr)
        np.copyto(out, arr)

    # The same unit as rayx's single_client_put_gigabytes (Ray's 8 * 0.1 per 800 MiB array).
    t.time("single_client_put_gigabytes", copy_to_fresh_buffer, 8 * 0.1)


PEERS = {
    "multiprocessing": run_multiprocessing,
    "futures": run_futures,
    "dask": run_dask,
    "numpy": run_numpy,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("peer", choices=sorted(PEERS))
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true",
                        help="leave out the slow large-object workloads (Dask's 800 MiB scatter)")
    args = parser.parse_args()
    if args.seconds <= 0 or args.runs < 1:
        parser.error("--seconds must be positive and --runs at least 1")
    t = Timer(args.seconds, args.runs)
    PEERS[args.peer](t, args.quick)
    json.dump({"peer": args.peer, "results": t.results}, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
