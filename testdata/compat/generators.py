"""End to end: generator tasks and actor methods, as Ray's generators user guide describes them.

Run by script_test.sh as `rayx run generators.py`: streaming (the first item before the task
ends), errors at the right item, sync, threaded and async actors, num_returns="dynamic", a fixed
num_returns, rayx.wait on a generator, cancel, a worker killed mid-stream (retried, no item
duplicated), and no store object left once a generator is dropped.
"""
import asyncio
import gc
import os
import tempfile
import time

import ray

ray.init(num_cpus=2)


def store_objects() -> int:
    return ray._private.worker.object_store_stats()["num_objects"]


def steady_objects() -> int:
    """The store's object count once it has not changed for a second (removals are batched)."""
    last, since = -1, time.monotonic()
    while True:
        gc.collect()
        n = store_objects()
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since > 1.0:
            return n
        time.sleep(0.05)


def settle_objects(expected: int, seconds: float = 10.0) -> int:
    """The store's object count once it is expected (removals are batched), or after seconds."""
    deadline = time.monotonic() + seconds
    while True:
        gc.collect()
        n = store_objects()
        if n == expected or time.monotonic() > deadline:
            return n
        time.sleep(0.05)


# --- Streaming: a generator function returns an ObjectRefGenerator; items come as yielded.
@ray.remote
def slow_numbers(n, pause):
    for i in range(n):
        yield i
        time.sleep(pause)


@ray.remote
def timed(n, pause):
    """Yields (i, the time it was yielded at); pauses after each."""
    for i in range(n):
        yield i, time.time()
        time.sleep(pause)


gen = timed.remote(3, 1.0)
assert isinstance(gen, ray.ObjectRefGenerator), type(gen)
start = time.monotonic()
first = next(gen)
first_at = time.monotonic() - start
got_first = time.time()
assert ray.get(first)[0] == 0
rest = [ray.get(r) for r in gen]
assert [i for i, _ in rest] == [1, 2]
# The first item reached the caller before the task yielded its last one (at least 2 s later):
# items come while the task runs. Timed against the task's own clock, so load cannot fake it.
assert got_first < rest[-1][1], f"the first item came {got_first - rest[-1][1]:.2f} s after the last"
try:
    next(gen)
    raise AssertionError("a finished generator must raise StopIteration")
except StopIteration:
    pass
assert gen.is_finished()
print("streaming: first item after %.2f s of a 3 s task" % first_at)


# Big items (shared memory) and many small ones, in order.
@ray.remote
def blocks(n):
    for i in range(n):
        yield bytes([i]) * 300_000


assert [ray.get(r)[:1] for r in blocks.remote(4)] == [bytes([i]) for i in range(4)]


@ray.remote(num_returns="streaming")
def many(n):
    yield from range(n)


assert [ray.get(r) for r in many.remote(500)] == list(range(500))
assert list(many.remote(0)) == []


gen = slow_numbers.remote(3, 0.05)
assert [ray.get(r) for r in gen] == [0, 1, 2]


# --- An error raised after k items: k good refs, then a ref whose get raises, then the end.
class Boom(Exception):
    pass


@ray.remote
def fails_after(k):
    for i in range(k):
        yield i
    raise Boom("mid-stream")


refs = list(fails_after.remote(2))
assert len(refs) == 3, refs
assert ray.get(refs[:2]) == [0, 1]
try:
    ray.get(refs[2])
    raise AssertionError("the third ref must raise the task's error")
except Boom as e:
    assert "mid-stream" in str(e)
assert isinstance(refs[2], ray.ObjectRef)
try:
    ray.get(fails_after.remote(0).completed())
    raise AssertionError("completed() of a failed generator must raise")
except Boom:
    pass

# A function that is not a generator with num_returns="streaming": the error says so.
@ray.remote(num_returns="streaming")
def not_a_generator():
    return 1


(only,) = list(not_a_generator.remote())
try:
    ray.get(only)
    raise AssertionError("a streaming task that returns a value must fail")
except TypeError as e:
    assert "not a generator" in str(e)
print("errors: delivered at the right item")


# --- async for, and ray.wait on a generator.
async def consume_async(g):
    return [await r async for r in g]


assert asyncio.run(consume_async(slow_numbers.remote(3, 0.05))) == [0, 1, 2]


@ray.remote
def gated(path):
    yield "before"
    while not os.path.exists(path):
        time.sleep(0.02)
    yield "after"


gate = os.path.join(tempfile.mkdtemp(prefix="rayx-gen-"), "gate")
g = gated.remote(gate)
ready, not_ready = ray.wait([g], timeout=10)
assert ready == [g] and not_ready == [], (ready, not_ready)
assert ray.get(next(g)) == "before"
ready, not_ready = ray.wait([g], timeout=0)
assert ready == [] and not_ready == [g], "the second item must not be ready before the gate opens"
plain = ray.put(1)
ready, not_ready = ray.wait([g, plain], num_returns=1, timeout=0.2)
assert ready == [plain] and not_ready == [g], (ready, not_ready)
open(gate, "w").close()
ready, _ = ray.wait([g], timeout=10)
assert ready == [g]
assert ray.get(next(g)) == "after"
ready, _ = ray.wait([g], timeout=10)  # The end is ready too: next() does not block.
assert ready == [g]
assert list(g) == []
print("wait: tells whether the next item is ready")


# --- Cancel a generator task.
@ray.remote
def endless():
    i = 0
    while True:
        yield i
        i += 1
        time.sleep(0.01)


g = endless.remote()
assert ray.get(next(g)) == 0
ray.cancel(g)
seen = [r for r in g]
assert seen, "the cancellation comes as the last ref"
try:
    ray.get(seen[-1])
    raise AssertionError("the last ref of a cancelled generator must raise")
except ray.exceptions.TaskCancelledError:
    pass
print("cancel: ends the stream with TaskCancelledError")


# --- num_returns="dynamic": one ref, whose value is a DynamicObjectRefGenerator.
@ray.remote(num_returns="dynamic")
def dynamic(n):
    for i in range(n):
        yield i * 10


dyn_ref = dynamic.remote(4)
assert isinstance(dyn_ref, ray.ObjectRef)
dyn = ray.get(dyn_ref)
assert isinstance(dyn, ray.DynamicObjectRefGenerator), type(dyn)
assert [ray.get(r) for r in dyn] == [0, 10, 20, 30]
del dyn, dyn_ref


# --- A fixed num_returns: the yielded values are the returns; a count mismatch is an error.
@ray.remote(num_returns=3)
def three():
    yield 1
    yield 2
    yield 3


assert ray.get(three.remote()) == [1, 2, 3]
a, b = three.options(num_returns=2).remote()
try:
    ray.get(a)
    raise AssertionError("yielding 3 values for num_returns=2 must fail")
except ValueError as e:
    assert "num_returns=2" in str(e)
(one,) = [three.options(num_returns=1).remote()]
try:
    ray.get(one)
    raise AssertionError("yielding 3 values for num_returns=1 must fail")
except ValueError:
    pass
print("dynamic and fixed num_returns: as in Ray")


# --- Actors: sync, threaded and async generator methods.
@ray.remote
class Streamer:
    def timed(self, n, pause):
        for i in range(n):
            yield i, time.time()
            time.sleep(pause)

    def numbers(self, n, pause=0.0):
        for i in range(n):
            yield i
            time.sleep(pause)

    @ray.method(num_returns="dynamic")
    def dynamic(self, n):
        yield from range(n)

    @ray.method(num_returns=2)
    def pair(self):
        yield "a"
        yield "b"

    def fails(self):
        yield 1
        raise Boom("actor mid-stream")

    def plain(self):
        return "plain"


s = Streamer.remote()
g = s.timed.remote(3, 1.0)
assert isinstance(g, ray.ObjectRefGenerator)
assert ray.get(next(g))[0] == 0
got_first = time.time()
rest = [ray.get(r) for r in g]
assert [i for i, _ in rest] == [1, 2]
assert got_first < rest[-1][1], "an actor's generator must stream too"
assert [ray.get(r) for r in ray.get(s.dynamic.remote(3))] == [0, 1, 2]
assert ray.get(s.pair.remote()) == ["a", "b"]
assert ray.get(s.plain.remote()) == "plain"
refs = list(s.fails.remote())
assert ray.get(refs[0]) == 1 and len(refs) == 2
try:
    ray.get(refs[1])
    raise AssertionError("the actor's error must come as the second ref")
except Boom:
    pass
assert [ray.get(r) for r in s.numbers.options(num_returns="streaming").remote(2)] == [0, 1]
assert ray.get(s.numbers.options(num_returns=2).remote(2)) == [0, 1]


def overlapped(v1, v2):
    """Two streams of (i, time) ran at once: each began before the other ended."""
    return v1[0][1] < v2[-1][1] and v2[0][1] < v1[-1][1]


@ray.remote(max_concurrency=4)
class ThreadedStreamer:
    def numbers(self, n, pause):
        for i in range(n):
            yield i, time.time()
            time.sleep(pause)


t = ThreadedStreamer.remote()
# Two streams at once on one actor: both interleave, each in order.
g1, g2 = t.numbers.remote(4, 0.3), t.numbers.remote(4, 0.3)
v1 = [ray.get(r) for r in g1]
v2 = [ray.get(r) for r in g2]
assert [i for i, _ in v1] == [i for i, _ in v2] == [0, 1, 2, 3]
assert overlapped(v1, v2), "a threaded actor runs its two streams at once"


@ray.remote
class AsyncStreamer:
    async def numbers(self, n, pause):
        for i in range(n):
            yield i, time.time()
            await asyncio.sleep(pause)

    async def fails(self):
        yield "x"
        raise Boom("async mid-stream")

    async def value(self):
        return 7


a = AsyncStreamer.remote()
g1, g2 = a.numbers.remote(3, 1.0), a.numbers.remote(3, 1.0)
assert ray.get(next(g1))[0] == 0
got_first = time.time()
v1 = [ray.get(r) for r in g1]
v2 = [ray.get(r) for r in g2]
assert [i for i, _ in v1] == [1, 2] and [i for i, _ in v2] == [0, 1, 2]
assert got_first < v1[-1][1], "an async actor's generator must stream"
assert overlapped(v1, v2), "two async streams interleave"
refs = list(a.fails.remote())
assert ray.get(refs[0]) == "x" and len(refs) == 2
try:
    ray.get(refs[1])
    raise AssertionError("the async actor's error must come as the second ref")
except Boom:
    pass
assert ray.get(a.value.remote()) == 7
print("actors: sync, threaded and async generators")


# --- A generator consumed inside a task.
@ray.remote
def total(n):
    return sum(ray.get(r) for r in many.remote(n))


assert ray.get(total.remote(10)) == 45


# --- A worker killed mid-stream with retries: retried, and the items seen are not duplicated.
scratch = tempfile.mkdtemp(prefix="rayx-gen-retry-")


@ray.remote(max_retries=2)
def dies_once(path, n):
    first_run = not os.path.exists(path)
    for i in range(n):
        yield i
        if first_run and i == 2:
            open(path, "w").close()
            os._exit(1)  # The worker dies after yielding 0, 1 and 2.
        time.sleep(0.02)


g = dies_once.remote(os.path.join(scratch, "died"), 6)
values = [ray.get(r) for r in g]
assert values == [0, 1, 2, 3, 4, 5], values
assert os.path.exists(os.path.join(scratch, "died")), "the first run must have died"


@ray.remote(max_retries=0)
def dies_for_good():
    yield 1
    time.sleep(0.2)
    os._exit(1)


refs = list(dies_for_good.remote())
assert ray.get(refs[0]) == 1 and len(refs) == 2
try:
    ray.get(refs[1])
    raise AssertionError("a worker that died without retries must end the stream with an error")
except ray.exceptions.WorkerCrashedError:
    pass
print("retries: a killed stream resumes without duplicates")


# --- No leak: items nobody took go with their generator, taken ones with their refs.
del refs, g, g1, g2, first, only, a, b, one, plain, seen, gen
baseline = steady_objects()
gen = blocks.remote(5)
taken = next(gen)
while not gen.is_finished() and not ray.wait([gen.completed()], timeout=0)[0]:
    time.sleep(0.05)
ray.get(gen.completed())  # The task ended: its 5 items and its completion are stored.
assert store_objects() >= baseline + 6, (store_objects(), baseline)
del gen
assert settle_objects(baseline + 1) == baseline + 1, "only the item still referenced stays"
assert ray.get(taken)[:1] == b"\x00"
del taken
assert settle_objects(baseline) == baseline, (store_objects(), baseline)

# Items taken and dropped are freed while the generator lives on (Ray's reason to stream).
gen = blocks.remote(5)
for r in gen:
    ray.get(r)
del r
ray.get(gen.completed())
assert settle_objects(baseline + 1) == baseline + 1, "consumed items must go before the generator"
del gen
assert settle_objects(baseline) == baseline, (store_objects(), baseline)

# A generator dropped while its task still runs: what it yields later is dropped too.
gen = slow_numbers.remote(4, 0.2)
next(gen)
del gen
time.sleep(1.2)
assert settle_objects(baseline) == baseline, (store_objects(), baseline)
print("memory: no store object left behind")

print("generators: all checks held")
