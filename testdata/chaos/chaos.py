"""Chaos: a mixed job runs while a worker is killed with SIGKILL every 100 ms; every result is checked.

    rayx run testdata/chaos/chaos.py [--tasks 10000] [--kill-every 0.1] [--kill-for S]
        [--seed S] [--actors] [--kinds plain,chain,...] [--spread --kill-children-of PID,PID,...]

The job: plain tasks, chains (each task takes the previous one's result), nested tasks (a task
that submits one and waits for it), tasks with 1 MB results, and, with --actors, calls to actors
with max_restarts=-1 and max_task_retries=-1 (their methods are idempotent: they compute from
their arguments, so a retried call returns what the first would have). A thread of the driver
picks one of the node's workers at random every --kill-every seconds and kills it with SIGKILL
(with --actors, actor workers included). Exits 0 when every result is right, 1 otherwise; prints
how many workers were killed and how long the job took.

--kill-for bounds the chaos: the kills stop after that many seconds if the job has not finished,
and every result must then come in within the get timeout (300 s; CHAOS_GET_TIMEOUT). Without a
bound, a slow machine can starve a task for good rather than reveal a fault: a kill every 100 ms
among a handful of workers gives each a life of well under a second, and a nested task needs two
workers alive at once (measured at load 22, where a worker took 0.5 to 1.2 s to start: 400 nested
tasks, 5 done in 40 s of kills, all 400 within 4 s after). A result still missing once the kills
have stopped is a fault, and is reported as stuck.

On a cluster (the driver attached with --address): --spread sends every task and actor with
scheduling_strategy="SPREAD", so that the work is on every node, and --kill-children-of names the
node daemons whose workers the thread kills (their child processes), in place of this driver's.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import threading
import time

import numpy as np
import rayx

RETRIES = 1000  # As good as for ever for this job: every task must come through.


def worker_pids(parents: list[int]) -> list[int]:
    """The workers: the child processes of the nodes (this driver, which runs its node inside)."""
    pids = []
    for parent in parents:
        try:
            tids = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{parent}/task/{tid}/children") as f:
                    pids.extend(int(p) for p in f.read().split())
            except OSError:
                pass
    return pids


def killer(stop: threading.Event, every: float, until: float, rng: random.Random, kills: list,
           parents: list[int]) -> None:
    """Kills a random worker every `every` seconds until stop is set or the monotonic clock
    passes until."""
    while not stop.wait(every) and time.monotonic() < until:
        pids = worker_pids(parents)
        if not pids:
            continue
        pid = rng.choice(pids)
        try:
            os.kill(pid, signal.SIGKILL)
            kills.append(pid)
        except ProcessLookupError:
            pass


@rayx.remote(max_retries=RETRIES)
def square(x: int) -> int:
    return x * x


@rayx.remote(max_retries=RETRIES)
def add(a: int, b: int) -> int:
    return a + b


@rayx.remote(max_retries=RETRIES)
def nested(x: int) -> int:
    return rayx.get(square.remote(x)) + 1


@rayx.remote(max_retries=RETRIES)
def block(i: int) -> np.ndarray:
    return np.full(131_072, i, dtype=np.int64)  # 1 MB: a shared-memory result.


@rayx.remote(max_restarts=-1, max_task_retries=-1)
class Scaler:
    def __init__(self, factor: int):
        self.factor = factor

    def scale(self, x: int) -> int:
        return x * self.factor


def main() -> int:
    if os.environ.get("CHAOS_DUMP_AFTER"):  # Debugging a hang: every thread's stack, repeatedly.
        import faulthandler

        faulthandler.dump_traceback_later(float(os.environ["CHAOS_DUMP_AFTER"]), repeat=True)
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--kill-every", type=float, default=0.1)
    parser.add_argument("--kill-for", type=float, default=float("inf"))
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--actors", action="store_true")
    parser.add_argument("--spread", action="store_true")
    parser.add_argument("--kill-children-of", default="")
    # Only some kinds of work (comma-separated: plain, chain, nested, block, actor), to narrow
    # down a finding.
    parser.add_argument("--kinds", default="")
    args = parser.parse_args()
    parents = [int(p) for p in args.kill_children_of.split(",") if p] or [os.getpid()]
    spread = {"scheduling_strategy": "SPREAD"} if args.spread else {}
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    rayx.init()

    n = args.tasks
    kinds = ["plain", "chain", "nested", "block"] + (["actor"] * 2 if args.actors else [])
    if args.kinds:
        kinds = args.kinds.split(",")
        args.actors = args.actors or "actor" in kinds
    plan = [rng.choice(kinds) for _ in range(n)]
    actors = [Scaler.options(**spread).remote(k) for k in (2, 3, 4)] if args.actors else []

    stop = threading.Event()
    kills: list = []
    start = time.monotonic()
    thread = threading.Thread(
        target=killer, args=(stop, args.kill_every, start + args.kill_for, rng, kills, parents),
        daemon=True)
    thread.start()
    refs, expected = [], []
    chain = rayx.put(0)
    chain_value = 0
    for i, kind in enumerate(plan):
        if kind == "plain":
            refs.append(square.options(**spread).remote(i))
            expected.append(i * i)
        elif kind == "chain":
            chain = add.options(**spread).remote(chain, i)
            chain_value += i
            refs.append(chain)
            expected.append(chain_value)
        elif kind == "nested":
            refs.append(nested.options(**spread).remote(i))
            expected.append(i * i + 1)
        elif kind == "block":
            refs.append(block.options(**spread).remote(i))
            expected.append(("block", i))
        else:
            a = actors[i % 3]
            refs.append(a.scale.remote(i))
            expected.append(i * (2 + i % 3))
    wrong = 0
    for i, (ref, want) in enumerate(zip(refs, expected)):
        try:
            got = rayx.get(ref, timeout=float(os.environ.get("CHAOS_GET_TIMEOUT", 300)))
        except rayx.exceptions.GetTimeoutError:
            print(f"stuck: {plan[i]} task {i} ({ref.hex()}) not done in time", file=sys.stderr,
                  flush=True)
            got = None
        if isinstance(want, tuple):
            ok = got.shape == (131_072,) and int(got[0]) == want[1] and int(got[-1]) == want[1]
        else:
            ok = got == want
        if not ok:
            wrong += 1
            if wrong <= 5:
                print(f"wrong result: {got!r:.60} != {want!r}", file=sys.stderr)
    stop.set()
    thread.join()
    elapsed = time.monotonic() - start
    if elapsed > args.kill_for:
        print(f"note: the kills stopped after {args.kill_for:.0f} s, before the job ended",
              file=sys.stderr)
    print(f"chaos: {n} tasks ({', '.join(f'{k} {plan.count(k)}' for k in sorted(set(plan)))}), "
          f"{len(kills)} workers killed, {elapsed:.1f} s, seed {seed}: "
          f"{n - wrong} right, {wrong} wrong")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
