"""Scale: one driver submits a million tiny tasks and gets every result.

    bazel-bin/rayx run tools/bench/scale.py [--tasks N] [--chunk C]

First every CPU is taken by a task that waits for a signal, so that all N tiny tasks queue up;
the growth of this process's memory while they are submitted (the node runs inside the driver,
so this counts the driver's ObjectRefs and the node's queued tasks) divided by N is the memory
per queued task. Then the blockers are released and the results are fetched C at a time and
checked. Reports the wall times, that figure, and the peak resident memory of the driver and of
driver plus workers (sampled every 20 ms). Exits 1 when a result is wrong.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time

import rayx


def rss_kib(pid: int | str = "self") -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    found = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                found.extend(int(c) for c in f.read().split())
    except OSError:
        pass
    return found


class PeakSampler(threading.Thread):
    """Samples the resident memory of this process and of its children until stopped."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_self = 0
        self.peak_total = 0
        self._done = threading.Event()

    def run(self) -> None:
        me = os.getpid()
        while not self._done.is_set():
            mine = rss_kib()
            total = mine + sum(rss_kib(c) for c in children(me))
            self.peak_self = max(self.peak_self, mine)
            self.peak_total = max(self.peak_total, total)
            self._done.wait(0.02)

    def stop(self) -> None:
        self._done.set()
        self.join()


@rayx.remote
def tiny(i: int) -> int:
    return i


@rayx.remote
def hold_cpu(flag: str) -> None:
    while not os.path.exists(flag):
        time.sleep(0.005)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=10_000)
    args = parser.parse_args()
    start = time.perf_counter()
    rayx.init()
    cpus = int(rayx.cluster_resources().get("CPU", 1))
    rayx.get(tiny.remote(0))  # The function is exported and a worker runs.
    sampler = PeakSampler()
    sampler.start()

    flag = os.path.join(tempfile.mkdtemp(prefix="rayx-scale-"), "go")
    blockers = [hold_cpu.remote(flag) for _ in range(cpus)]
    while rayx.available_resources().get("CPU", 0) > 0:
        time.sleep(0.01)
    before = rss_kib()
    t0 = time.perf_counter()
    refs = [tiny.remote(i) for i in range(args.tasks)]
    submit_s = time.perf_counter() - t0
    queued_kib = rss_kib() - before

    open(flag, "w").close()
    t1 = time.perf_counter()
    rayx.get(blockers)
    for lo in range(0, args.tasks, args.chunk):
        values = rayx.get(refs[lo:lo + args.chunk])
        if values != list(range(lo, min(lo + args.chunk, args.tasks))):
            print(f"scale: wrong results in tasks {lo}..{lo + args.chunk}", file=sys.stderr)
            return 1
    get_s = time.perf_counter() - t1
    total_s = time.perf_counter() - t0
    sampler.stop()
    del refs
    rayx.shutdown()
    os.unlink(flag)
    os.rmdir(os.path.dirname(flag))

    print(f"tasks                        {args.tasks:,} (on {cpus} CPUs)")
    print(f"submit (all queued)          {submit_s:.2f} s  ({args.tasks / submit_s:,.0f}/s)")
    print(f"run + get every result       {get_s:.2f} s  ({args.tasks / get_s:,.0f}/s)")
    print(f"wall, submit to last result  {total_s:.2f} s  (process: "
          f"{time.perf_counter() - start:.2f} s)")
    print(f"memory per queued task       {queued_kib * 1024 / args.tasks:,.0f} bytes "
          f"(driver + node RSS growth {queued_kib / 1024:,.1f} MiB while queued)")
    print(f"peak RSS, driver + node      {sampler.peak_self / 1024:,.1f} MiB")
    print(f"peak RSS, with workers       {sampler.peak_total / 1024:,.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
