"""A cancel issued right after a task is submitted is never lost.

The task sleeps far longer than the test waits; it is cancelled a moment after it was submitted
(no delay, or a few milliseconds: before its worker started it, while it starts, once it runs),
on the direct path and the node's. Every get must raise TaskCancelledError promptly, and the
workers that saw the cancels must still run tasks afterwards (the same function too: a task
cancelled before it came brought that worker the function's definition).
"""

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


def main():
    rayx.init(num_cpus=2)
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
