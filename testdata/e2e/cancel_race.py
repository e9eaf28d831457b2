"""A cancel issued right after a task is submitted is never lost.

The task sleeps far longer than the test waits; it is cancelled a moment after it was submitted
(no delay, or a few milliseconds: before its worker started it, while it starts, once it runs),
on the direct path and the node's. Every get must raise TaskCancelledError promptly, and the
workers that saw the cancels must still run tasks afterwards (the same function too: a task
cancelled before it came brought that worker the function's definition).

A signal sent to a process may be taken by any thread that does not block it, and one taken by
another thread does not wake the main thread from time.sleep: so rayx's own threads, in the
driver and in the workers, block SIGINT, and only the main thread takes it.
"""

import os
import time

import rayx
from rayx.exceptions import TaskCancelledError

ROUNDS = 60


@rayx.remote
def sleepy(seconds):
    time.sleep(seconds)
    return "slept"


@rayx.remote(num_cpus=0.5)
def sleepy_half(seconds):  # Another resource shape.
    time.sleep(seconds)
    return "slept"


SIGINT_BIT = 1 << (2 - 1)  # Bit n-1 of /proc's SigBlk is signal n.


def threads_blocking_sigint():
    """{thread name: whether it blocks SIGINT} for this process's threads, the main one apart."""
    seen = {}
    for tid in os.listdir("/proc/self/task"):
        if int(tid) == os.getpid():
            continue
        base = f"/proc/self/task/{tid}"
        try:
            with open(f"{base}/comm") as f:
                name = f.read().strip()
            with open(f"{base}/status") as f:
                blocked = next(int(line.split()[1], 16) for line in f if line.startswith("SigBlk"))
        except (FileNotFoundError, StopIteration):  # Ended meanwhile.
            continue
        seen[f"{name}/{tid}"] = bool(blocked & SIGINT_BIT)
    with open("/proc/self/status") as f:
        main_blocked = next(int(line.split()[1], 16) for line in f if line.startswith("SigBlk"))
    return seen, bool(main_blocked & SIGINT_BIT)


@rayx.remote
def worker_threads():
    return threads_blocking_sigint()


def check_signal_masks():
    for where, (threads, main_blocks) in (("driver", threads_blocking_sigint()),
                                          ("worker", rayx.get(worker_threads.remote()))):
        assert not main_blocks, f"the {where}'s main thread blocks SIGINT"
        assert threads, f"the {where} has no threads of rayx's"
        open_to_it = [name for name, blocks in threads.items() if not blocks]
        assert not open_to_it, f"{where} threads that may take a SIGINT: {open_to_it}"


def main():
    rayx.init(num_cpus=2)
    rayx.get(rayx.put(b"x" * (8 << 20)))  # The object store's threads start too.
    check_signal_masks()
    for i in range(ROUNDS):
        fn = sleepy if i % 2 == 0 else sleepy_half
        ref = fn.remote(60)
        delay = (0, 0.001, 0.005, 0.02, 0.05)[i % 5]
        if delay:
            time.sleep(delay)
        rayx.cancel(ref)
        started = time.monotonic()
        try:
            rayx.get(ref, timeout=20)
        except TaskCancelledError:
            pass
        else:
            raise AssertionError(f"round {i}: a cancelled task returned a value")
        took = time.monotonic() - started
        assert took < 10, f"round {i}: the cancel took {took:.1f} s to end the get"
    # The workers go on: the same functions run to completion.
    assert rayx.get([sleepy.remote(0), sleepy_half.remote(0)] * 4) == ["slept"] * 8
    rayx.shutdown()
    print("cancel race: all checks held")


if __name__ == "__main__":
    main()
