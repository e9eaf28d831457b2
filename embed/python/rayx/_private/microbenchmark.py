"""`rayx microbenchmark`: Ray's microbenchmark workloads, under Ray's metric names.

Each workload is a function called in a loop: first a warm-up, then several timed runs of about
``seconds`` each; the figure reported is the median of the runs' rates (operations per second,
or gigabytes per second for single_client_put_gigabytes). The workloads are those of Ray's
``ray microbenchmark`` (python/ray/_private/ray_perf.py) with the same sizes, so the figures can
be set beside Ray's published ones.

Workloads that need actors are skipped, with the reason, when this build cannot create actors
(``@rayx.remote`` on a class raises NotImplementedError): no figure is ever made up.

Usage (normally through the CLI, which runs this module in the rayx binary)::

    rayx microbenchmark [--seconds S] [--runs N] [--filter SUBSTRING] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from typing import Any, Callable, Optional

import rayx

__all__ = ["main", "run"]

# The metrics, in the order Ray prints them.
METRICS = (
    "single_client_get_calls",
    "single_client_put_calls",
    "single_client_put_gigabytes",
    "single_client_tasks_and_get_batch",
    "single_client_get_object_containing_10k_refs",
    "single_client_wait_1k_refs",
    "single_client_tasks_sync",
    "single_client_tasks_async",
    "multi_client_tasks_async",
    "1_1_actor_calls_sync",
    "1_1_actor_calls_async",
    "1_1_actor_calls_concurrent",
    "1_n_actor_calls_async",
    "n_n_actor_calls_async",
    "1_1_async_actor_calls_async",
)

ACTORS_UNAVAILABLE = "skipped: actors not available in this build"


@rayx.remote
def small_value() -> bytes:
    return b"ok"


@rayx.remote
def create_object_containing_ref() -> list:
    return [rayx.put(1) for _ in range(10000)]


def _define_actors() -> Optional[dict]:
    """Returns the actor classes of Ray's workloads, or None when actors are not available.

    The classes are made here rather than at import so that importing this module works in a
    build without actors.
    """

    class Actor:
        def small_value(self) -> bytes:
            return b"ok"

        def small_value_batch(self, n: int) -> None:
            rayx.get([small_value.remote() for _ in range(n)])

    class Client:
        def __init__(self, servers: Any):
            self.servers = servers if isinstance(servers, list) else [servers]

        def small_value_batch(self, n: int) -> None:
            results = []
            for server in self.servers:
                results.extend([server.small_value.remote() for _ in range(n)])
            rayx.get(results)

    class AsyncActor:
        async def small_value(self) -> bytes:
            return b"ok"

    try:
        return {
            # Ray's workloads hold no CPU for their actors, so they fit on any machine.
            "Actor": rayx.remote(num_cpus=0)(Actor),
            "Client": rayx.remote(num_cpus=0)(Client),
            "AsyncActor": rayx.remote(num_cpus=0)(AsyncActor),
        }
    except NotImplementedError:
        return None


@rayx.remote
def _actor_batch_work(actors: list, n: int) -> None:
    """n:n: one of several tasks, each calling the actors round-robin n times."""
    rayx.get([actors[i % len(actors)].small_value.remote() for i in range(n)])


class _Timer:
    """Times workloads the same way for every metric and collects the results."""

    def __init__(self, seconds: float, runs: int, name_filter: str, out: Any):
        self.seconds = seconds
        self.runs = runs
        self.name_filter = name_filter
        self.out = out
        self.results: list[dict] = []

    def wanted(self, name: str) -> bool:
        return self.name_filter in name

    def skip(self, name: str, reason: str) -> None:
        if not self.wanted(name):
            return
        self.results.append({"name": name, "skipped": reason})
        self._say(f"{name} {reason}")

    def time(self, name: str, fn: Callable[[], Any], multiplier: float = 1,
             unit: str = "per second") -> None:
        """Warms up, then records the median rate of `runs` timed runs of about `seconds`."""
        if not self.wanted(name):
            return
        start = time.perf_counter()
        calls = 0
        while calls == 0 or time.perf_counter() - start < self.seconds / 2:
            fn()
            calls += 1
        # Whole batches of calls between clock reads, as Ray does, sized from the warm-up.
        per_call = (time.perf_counter() - start) / calls
        step = max(1, int(self.seconds / per_call / 10))
        rates = []
        for _ in range(self.runs):
            start = time.perf_counter()
            count = 0
            while count == 0 or time.perf_counter() - start < self.seconds:
                for _ in range(step):
                    fn()
                count += step
            rates.append(multiplier * count / (time.perf_counter() - start))
        value = statistics.median(rates)
        spread = (max(rates) - min(rates)) / 2
        self.results.append({"name": name, "value": value, "unit": unit, "runs": rates})
        self._say(f"{name} {unit} {value:.2f} +- {spread:.2f}")

    def _say(self, line: str) -> None:
        if self.out is not None:
            print(line, file=self.out, flush=True)


def _task_workloads(t: _Timer) -> None:
    value = rayx.put(0)
    t.time("single_client_get_calls", lambda: rayx.get(value))
    t.time("single_client_put_calls", lambda: rayx.put(0))

    if t.wanted("single_client_put_gigabytes"):
        import numpy as np

        arr = np.zeros(100 * 1024 * 1024, dtype=np.int64)  # 800 MiB, as in Ray.
        t.time("single_client_put_gigabytes", lambda: rayx.put(arr), 8 * 0.1,
               unit="gigabytes per second")
        del arr

    def small_value_batch() -> None:
        rayx.get([small_value.remote() for _ in range(1000)])

    t.time("single_client_tasks_and_get_batch", small_value_batch)

    if t.wanted("single_client_get_object_containing_10k_refs"):
        containing = create_object_containing_ref.remote()
        t.time("single_client_get_object_containing_10k_refs", lambda: rayx.get(containing))
        del containing

    def wait_multiple_refs() -> None:
        not_ready = [small_value.remote() for _ in range(1000)]
        for _ in range(1000):
            _, not_ready = rayx.wait(not_ready)

    t.time("single_client_wait_1k_refs", wait_multiple_refs)
    t.time("single_client_tasks_sync", lambda: rayx.get(small_value.remote()))
    t.time("single_client_tasks_async",
           lambda: rayx.get([small_value.remote() for _ in range(1000)]), 1000)


def _actor_workloads(t: _Timer, classes: dict) -> None:
    Actor, Client, AsyncActor = classes["Actor"], classes["Client"], classes["AsyncActor"]
    n_cpu = max(1, (os.cpu_count() or 2) // 2)

    if t.wanted("multi_client_tasks_async"):
        n, m = 10000, 4
        actors = [Actor.remote() for _ in range(m)]
        t.time("multi_client_tasks_async",
               lambda: rayx.get([a.small_value_batch.remote(n) for a in actors]), n * m)
        del actors

    if t.wanted("1_1_actor_calls_sync"):
        a = Actor.remote()
        t.time("1_1_actor_calls_sync", lambda: rayx.get(a.small_value.remote()))
        del a

    if t.wanted("1_1_actor_calls_async"):
        a = Actor.remote()
        t.time("1_1_actor_calls_async",
               lambda: rayx.get([a.small_value.remote() for _ in range(1000)]), 1000)
        del a

    if t.wanted("1_1_actor_calls_concurrent"):
        a = Actor.options(max_concurrency=16).remote()
        t.time("1_1_actor_calls_concurrent",
               lambda: rayx.get([a.small_value.remote() for _ in range(1000)]), 1000)
        del a

    if t.wanted("1_n_actor_calls_async"):
        n = 5000
        actors = [Actor.remote() for _ in range(n_cpu)]
        client = Client.remote(actors)
        t.time("1_n_actor_calls_async",
               lambda: rayx.get(client.small_value_batch.remote(n)), n * len(actors))
        del actors, client

    if t.wanted("n_n_actor_calls_async"):
        n, m = 5000, 4
        actors = [Actor.remote() for _ in range(n_cpu)]
        t.time("n_n_actor_calls_async",
               lambda: rayx.get([_actor_batch_work.remote(actors, n) for _ in range(m)]), m * n)
        del actors

    if t.wanted("1_1_async_actor_calls_async"):
        a = AsyncActor.remote()
        t.time("1_1_async_actor_calls_async",
               lambda: rayx.get([a.small_value.remote() for _ in range(1000)]), 1000)
        del a


_ACTOR_METRICS = METRICS[METRICS.index("multi_client_tasks_async"):]


def run(seconds: float = 2.0, runs: int = 3, name_filter: str = "",
        out: Any = sys.stdout) -> list[dict]:
    """Runs the workloads whose names contain name_filter; returns one dict per metric.

    Each dict has ``name`` and either ``value``, ``unit`` and ``runs`` (the rate of every timed
    run) or ``skipped`` (why there is no figure). Starts rayx when it is not running.
    """
    if seconds <= 0 or runs < 1:
        raise ValueError("seconds must be positive and runs at least 1")
    t = _Timer(seconds, runs, name_filter, out)
    rayx.init(ignore_reinit_error=True)
    _task_workloads(t)
    if any(t.wanted(name) for name in _ACTOR_METRICS):
        classes = _define_actors()
        if classes is None:
            for name in _ACTOR_METRICS:
                t.skip(name, ACTORS_UNAVAILABLE)
        else:
            _actor_workloads(t, classes)
    return t.results


def _machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "rayx": rayx.__version__,
    }


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="rayx microbenchmark",
        description="Ray's microbenchmark workloads on rayx, under Ray's metric names.",
    )
    parser.add_argument("--seconds", type=float, default=2.0,
                        help="length of each timed run (default 2; the warm-up is half that)")
    parser.add_argument("--runs", type=int, default=3,
                        help="timed runs per metric; the median is reported (default 3)")
    parser.add_argument("--filter", default="", dest="name_filter",
                        help="only the metrics whose names contain this text")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON document instead of one line per metric")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.runs < 1:
        parser.error("--seconds must be positive and --runs at least 1")
    results = run(args.seconds, args.runs, args.name_filter,
                  out=None if args.json else sys.stdout)
    if args.json:
        json.dump({"machine": _machine(), "seconds": args.seconds, "runs": args.runs,
                   "results": results}, sys.stdout, indent=1)
        print()
    rayx.shutdown()
    if not results:
        print(f"no metric matches the filter {args.name_filter!r}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
