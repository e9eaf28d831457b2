"""End to end: ray.util.queue.Queue, as Ray documents it (FIFO order, maxsize, blocking and
non-blocking puts and gets with timeouts, batches, Empty and Full, use from tasks and actors).

Run by script_test.sh as `rayx run ray_queue.py` (not queue.py: that would hide the standard
library's queue module).
"""
import asyncio
import queue
import time

import ray
from ray.util.queue import Empty, Full, Queue

ray.init(num_cpus=2)


def raises(exc_type, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except exc_type as e:
        return e
    raise AssertionError(f"{fn.__name__}{args} must raise {exc_type.__name__}")


assert issubclass(Empty, queue.Empty) and issubclass(Full, queue.Full)

# FIFO order, sizes.
q = Queue()
assert q.empty() and not q.full() and q.qsize() == 0 and q.size() == 0 and len(q) == 0
for i in range(5):
    q.put(i)
assert q.qsize() == 5 and len(q) == 5 and not q.empty()
assert [q.get() for _ in range(5)] == [0, 1, 2, 3, 4]
assert q.empty()

# Non-blocking calls raise at once.
raises(Empty, q.get_nowait)
raises(queue.Empty, q.get, block=False)
bounded = Queue(maxsize=2)
bounded.put_nowait("a")
bounded.put("b", block=False)
assert bounded.full() and bounded.qsize() == 2
raises(Full, bounded.put_nowait, "c")
raises(queue.Full, bounded.put, "c", block=False)
assert bounded.get_nowait() == "a" and bounded.get_nowait() == "b"

# Blocking calls with a timeout wait about that long, then raise.
t0 = time.monotonic()
raises(Empty, q.get, timeout=0.3)
waited = time.monotonic() - t0
assert 0.25 <= waited < 3, waited
bounded.put(1)
bounded.put(2)
t0 = time.monotonic()
raises(Full, bounded.put, 3, timeout=0.3)
waited = time.monotonic() - t0
assert 0.25 <= waited < 3, waited
assert bounded.qsize() == 2, "a timed-out put must not add its item"
raises(ValueError, q.get, timeout=-1)
raises(ValueError, q.put, 1, timeout=-1)
assert bounded.get() == 1 and bounded.get() == 2

# Batches: all or nothing.
bounded.put_nowait_batch([1, 2])
e = raises(Full, bounded.put_nowait_batch, [3])
assert "Cannot add 1 items to queue of size 2 and maxsize 2" in str(e)
assert bounded.qsize() == 2
e = raises(Empty, bounded.get_nowait_batch, 3)
assert "Cannot get 3 items from queue of size 2" in str(e)
assert bounded.get_nowait_batch(2) == [1, 2] and bounded.empty()
assert bounded.get_nowait_batch(0) == []
raises(TypeError, bounded.put_nowait_batch, 5)
raises(TypeError, bounded.get_nowait_batch, "2")
raises(ValueError, bounded.get_nowait_batch, -1)
q.put_nowait_batch(range(100))  # Unbounded: any batch fits.
assert q.get_nowait_batch(100) == list(range(100))


# A queue passed to tasks and actors is the same queue.
@ray.remote
def produce(q, start, n):
    for i in range(start, start + n):
        q.put(i)
    return n


@ray.remote
def consume(q, n, timeout):
    return [q.get(timeout=timeout) for _ in range(n)]


assert ray.get([produce.remote(q, 0, 10), produce.remote(q, 10, 10)]) == [10, 10]
assert sorted(q.get_nowait_batch(20)) == list(range(20))

# A get blocked in a task is served by a put made later by the driver.
pending = consume.remote(q, 3, 10)
ready, _ = ray.wait([pending], timeout=0.3)
assert not ready, "the consumer must wait for items"
for item in ("x", "y", "z"):
    q.put(item)
assert ray.get(pending, timeout=10) == ["x", "y", "z"]

# A put blocked on a full queue goes through once a consumer makes room.
small = Queue(maxsize=1)
small.put("first")
blocked_put = produce.remote(small, 100, 1)
ready, _ = ray.wait([blocked_put], timeout=0.3)
assert not ready, "the put must wait for room"
assert small.get() == "first"
assert ray.get(blocked_put, timeout=10) == 1
assert small.get(timeout=5) == 100


@ray.remote
class Collector:
    def __init__(self, q):
        self.q = q

    def drain(self):
        items = []
        while True:
            try:
                items.append(self.q.get(block=False))
            except Empty:
                return items


q.put_nowait_batch(["p", "q"])
assert ray.get(Collector.remote(q).drain.remote()) == ["p", "q"]


# The async variants from asyncio code.
async def use_async(q):
    await q.put_async("async-item")
    try:
        await q.get_async(timeout=0.2)
        await q.get_async(timeout=0.2)
    except Empty:
        return "empty after one"
    return "no Empty"


assert asyncio.run(use_async(q)) == "empty after one"

# Values of any kind, in order, including large ones.
big = bytes(300_000)
q.put({"k": [1, 2]})
q.put(big)
assert q.get() == {"k": [1, 2]} and q.get() == big

# shutdown ends the queue's actor.
q.shutdown()
assert q.actor is None
bounded.shutdown(force=True)

print("queue: all checks held")
