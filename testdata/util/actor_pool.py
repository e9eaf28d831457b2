"""End to end: ray.util.ActorPool, as Ray documents it (order, waiting submissions, errors,
timeouts, adding and taking out actors).

Run by script_test.sh as `rayx run actor_pool.py`.
"""
import time

import ray
from ray.util import ActorPool

ray.init(num_cpus=2)


@ray.remote
class Worker:
    def __init__(self, tag):
        self.tag = tag

    def work(self, value):
        delay, result = value
        time.sleep(delay)
        if isinstance(result, Exception):
            raise result
        return result

    def whoami(self, _):
        return self.tag


def work(actor, value):
    return actor.work.remote(value)


# A method called on a temporary handle runs (the handle is held until the call is made).
assert ray.get(Worker.remote("t").whoami.remote(None)) == "t"

a, b = Worker.remote("a"), Worker.remote("b")
pool = ActorPool([a, b])

# map keeps the order of the values, however long each call takes.
values = [(0.3, 1), (0.0, 2), (0.1, 3), (0.0, 4), (0.2, 5)]
assert list(pool.map(work, values)) == [1, 2, 3, 4, 5]
assert not pool.has_next()

# map_unordered yields the fastest first.
out = list(pool.map_unordered(work, [(0.6, "slow"), (0.0, "fast")]))
assert out == ["fast", "slow"], out
assert sorted(pool.map_unordered(work, [(0, i) for i in range(10)])) == list(range(10))

# Work for more values than actors waits in the pool and goes to the next free actor.
single = ActorPool([Worker.remote("only")])
for i in range(4):
    single.submit(work, (0.05, i))
assert not single.has_free()
assert [single.get_next() for _ in range(4)] == [0, 1, 2, 3]
assert single.has_free()
try:
    single.get_next()
    raise AssertionError("get_next on an empty pool must raise StopIteration")
except StopIteration:
    pass
try:
    single.get_next_unordered()
    raise AssertionError("get_next_unordered on an empty pool must raise StopIteration")
except StopIteration:
    pass

# A call that raises raises from get_next; the pool goes on.
pool.submit(work, (0, ValueError("bad value")))
pool.submit(work, (0, "after"))
try:
    pool.get_next()
    raise AssertionError("the call's error must reach get_next")
except ValueError as e:
    assert "bad value" in str(e)
assert pool.get_next() == "after"
gen = pool.map(work, [(0, 1), (0, KeyError("k")), (0, 3)])
assert next(gen) == 1
try:
    next(gen)
    raise AssertionError("map must raise the call's error at its place")
except KeyError:
    pass
while pool.has_next():  # What the broken generator left behind.
    pool.get_next()

# get_next with a timeout: TimeoutError, and the result is still there to read later.
pool.submit(work, (0.5, "late"))
t0 = time.monotonic()
try:
    pool.get_next(timeout=0.05)
    raise AssertionError("get_next(timeout) must raise TimeoutError")
except TimeoutError as e:
    assert "Timed out waiting for result" in str(e)
assert time.monotonic() - t0 < 0.45
assert pool.has_next()
assert pool.get_next() == "late"

# ignore_if_timedout: the result is dropped and its actor goes back.
pool.submit(work, (0.5, "dropped"))
pool.submit(work, (0.0, "kept"))
try:
    pool.get_next(timeout=0.05, ignore_if_timedout=True)
    raise AssertionError("must raise TimeoutError")
except TimeoutError as e:
    assert "has been ignored" in str(e)
assert pool.get_next() == "kept"
assert not pool.has_next()

# get_next_unordered with a timeout.
pool.submit(work, (0.5, "x"))
try:
    pool.get_next_unordered(timeout=0.05)
    raise AssertionError("get_next_unordered(timeout) must raise TimeoutError")
except TimeoutError:
    pass
assert pool.get_next_unordered(timeout=5) == "x"
pool.submit(work, (0.5, "y"))
try:
    pool.get_next_unordered(timeout=0.05, ignore_if_timedout=True)
    raise AssertionError("must raise TimeoutError")
except TimeoutError as e:
    assert "has been ignored" in str(e)
assert not pool.has_next()
time.sleep(0.5)

# After get_next_unordered has read a later result, get_next refuses (Ray's rule).
pool.submit(work, (0.4, "first"))
pool.submit(work, (0.0, "second"))
assert pool.get_next_unordered() == "second"
try:
    pool.get_next()
    raise AssertionError("get_next after get_next_unordered must raise ValueError")
except ValueError:
    pass
assert pool.get_next_unordered() == "first"

# map drops results left unread from earlier submissions.
pool.submit(work, (0, "old"))
assert list(pool.map(work, [(0, "new")])) == ["new"]

# pop_idle and push.
two = ActorPool([Worker.remote("p"), Worker.remote("q")])
taken = two.pop_idle()
assert taken is not None and two.has_free()
assert ray.get(taken.whoami.remote(None)) in ("p", "q")
other = two.pop_idle()
assert other is not None and two.pop_idle() is None and not two.has_free()
two.submit(lambda actor, v: actor.whoami.remote(v), None)  # Waits: no actor in the pool.
assert not two.has_next()
two.push(taken)  # The waiting submission goes to it at once.
assert two.has_next()
assert two.get_next() == ray.get(taken.whoami.remote(None))
try:
    two.push(taken)
    raise AssertionError("pushing an actor twice must raise ValueError")
except ValueError as e:
    assert "already belongs" in str(e)
two.push(other)
assert sorted(two.map(lambda actor, v: actor.whoami.remote(v), [None, None])) == ["p", "q"]

# Work is spread: with two actors, two slow calls run at once.
t0 = time.monotonic()
assert list(pool.map(work, [(0.5, 1), (0.5, 2)])) == [1, 2]
assert time.monotonic() - t0 < 0.95, "two actors must run two calls at once"

print("actor pool: all checks held")
