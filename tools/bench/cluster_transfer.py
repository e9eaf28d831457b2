"""Cluster figures on one machine: a 100 MB object pulled between two nodes, and small tasks.

    rayx run --address HOST:PORT tools/bench/cluster_transfer.py transfer [--mb 100] [--runs 5]
    rayx run --address HOST:PORT tools/bench/cluster_transfer.py tasks [--tasks 10000] [--spread]
    python3 tools/bench/cluster_transfer.py tcp [--mb 100] [--runs 5]

transfer: a task on the member with resource "far" makes the object; once it is there (not
fetched), the driver's get pulls it, in chunks over the peer link, into its own node's store and
maps it. Each run times the get alone, on a new object; prints the median in GB/s.

tasks: N tiny tasks submitted at once and all their results fetched, three runs, median tasks/s;
with --spread they are placed with scheduling_strategy="SPREAD" (else the default: here first).

tcp: the baseline for transfer: one process sends the same bytes over a loopback TCP socket to
another, which receives them into a buffer; the median GB/s. Run it with the system's python3.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import threading
import time


def transfer(mb: int, runs: int) -> None:
    import numpy as np
    import rayx

    rayx.init()

    @rayx.remote(resources={"far": 1})
    def make(n: int, seed: int):
        return np.full(n, seed, dtype=np.uint8)

    times = []
    for i in range(runs + 1):
        ref = make.remote(mb * 1_000_000, i)
        rayx.wait([ref], fetch_local=False, timeout=120)
        start = time.perf_counter()
        value = rayx.get(ref, timeout=120)
        elapsed = time.perf_counter() - start
        assert value.nbytes == mb * 1_000_000 and int(value[-1]) == i % 256
        del value, ref
        if i > 0:  # The first run warms the workers and the link.
            times.append(elapsed)
    median = statistics.median(times)
    print(f"transfer {mb} MB between nodes: median {median * 1000:.1f} ms, "
          f"{mb / 1000 / median:.2f} GB/s over {runs} runs")


def tasks(n: int, spread: bool) -> None:
    import rayx

    rayx.init()

    @rayx.remote
    def tiny(i: int) -> int:
        return i

    f = tiny.options(scheduling_strategy="SPREAD") if spread else tiny
    rates = []
    for _ in range(4):
        start = time.perf_counter()
        out = rayx.get([f.remote(i) for i in range(n)], timeout=600)
        elapsed = time.perf_counter() - start
        assert out == list(range(n))
        rates.append(n / elapsed)
    rates = rates[1:]  # The first run starts the workers.
    mode = "SPREAD" if spread else "default"
    print(f"{n} tasks ({mode}): median {statistics.median(rates):,.0f} tasks/s over {len(rates)} runs")


def tcp(mb: int, runs: int) -> None:
    size = mb * 1_000_000
    payload = bytes(size)
    times = []
    for _ in range(runs + 1):
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        received = bytearray(size)

        def receive() -> None:
            conn, _ = server.accept()
            view = memoryview(received)
            got = 0
            while got < size:
                n = conn.recv_into(view[got:], min(size - got, 1 << 22))
                if n == 0:
                    raise RuntimeError("short read")
                got += n
            conn.sendall(b"k")
            conn.close()

        import multiprocessing

        proc = multiprocessing.Process(target=receive)
        proc.start()
        client = socket.create_connection(("127.0.0.1", port))
        start = time.perf_counter()
        client.sendall(payload)
        client.recv(1)
        times.append(time.perf_counter() - start)
        client.close()
        proc.join()
        server.close()
    times = times[1:]
    median = statistics.median(times)
    print(f"tcp copy {mb} MB between processes: median {median * 1000:.1f} ms, "
          f"{mb / 1000 / median:.2f} GB/s over {runs} runs")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["transfer", "tasks", "tcp"])
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--spread", action="store_true")
    args = parser.parse_args()
    if args.what == "transfer":
        transfer(args.mb, args.runs)
    elif args.what == "tasks":
        tasks(args.tasks, args.spread)
    else:
        tcp(args.mb, args.runs)


if __name__ == "__main__":
    main()
