"""End to end: ray.util.multiprocessing.Pool, with multiprocessing.Pool's documented behaviour
(map, starmap, imap, imap_unordered, apply, the async variants and AsyncResult, callbacks,
initializer, errors, timeouts, close, terminate, join, the context manager).

Run by script_test.sh as `rayx run mp_pool.py` (not multiprocessing.py: that would hide the
standard library's module).
"""
import multiprocessing
import os
import time

import ray
from ray.util.multiprocessing import Pool, TimeoutError

assert TimeoutError is multiprocessing.TimeoutError


def raises(exc_type, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except exc_type as e:
        return e
    raise AssertionError(f"{fn.__name__}{args} must raise {exc_type.__name__}")


def square(x):
    return x * x


def slow(x, delay=0.3):
    time.sleep(delay)
    return x


def fail_on_three(x):
    if x == 3:
        raise ZeroDivisionError(f"no {x}")
    return x


def pid(_):
    time.sleep(0.05)
    return os.getpid()


def init_greeting(word, punctuation):
    # Process state (functions of __main__ travel by value, each with its own globals).
    os.environ["POOL_GREETING"] = word + punctuation


def greet(name):
    return f"{os.environ.get('POOL_GREETING')} {name}"


# Pool() starts rayx itself when it is not initialized, with `processes` CPUs.
pool = Pool(processes=2)
assert ray.is_initialized() and ray.cluster_resources()["CPU"] == 2

# map, starmap, chunks, empty input.
assert pool.map(square, range(20)) == [i * i for i in range(20)]
assert pool.map(square, range(20), chunksize=7) == [i * i for i in range(20)]
assert pool.map(square, []) == []
assert pool.map(lambda s: s.upper(), iter(["a", "b"])) == ["A", "B"]
assert pool.starmap(pow, [(2, 3), (3, 2)]) == [8, 9]

# The work runs in the pool's processes (two of them), not in the driver.
pids = set(pool.map(pid, range(40), chunksize=1))
assert os.getpid() not in pids and len(pids) == 2, pids

# apply and apply_async.
assert pool.apply(slow, (7,), {"delay": 0}) == 7
assert pool.apply(max, ([4, 9, 2],)) == 9
result = pool.apply_async(slow, (5,), {"delay": 0.5})
assert not result.ready()
raises(ValueError, result.successful)  # Not ready yet.
raises(TimeoutError, result.get, timeout=0.05)
result.wait(0.05)
assert not result.ready()
assert result.get(timeout=10) == 5 and result.ready() and result.successful()

# map_async and starmap_async.
m = pool.map_async(square, range(5))
assert m.get(timeout=10) == [0, 1, 4, 9, 16] and m.successful()
assert pool.starmap_async(pow, [(2, 5)]).get() == [32]

# Errors: the function's exception reaches whoever reads that result.
e = raises(ZeroDivisionError, pool.map, fail_on_three, range(6))
assert "no 3" in str(e)
bad = pool.apply_async(fail_on_three, (3,))
raises(ZeroDivisionError, bad.get, 10)
assert bad.ready() and not bad.successful()
it = pool.imap(fail_on_three, range(5))
assert [next(it), next(it), next(it)] == [0, 1, 2]
raises(ZeroDivisionError, next, it)
assert list(it) == [4], "imap goes on after an item's error"

# imap keeps order; imap_unordered yields results as they finish.
assert list(pool.imap(square, range(10))) == [i * i for i in range(10)]
assert list(pool.imap(square, range(10), chunksize=3)) == [i * i for i in range(10)]
order = list(pool.imap_unordered(lambda d: slow(d, d), [0.6, 0.0]))
assert order == [0.0, 0.6], order
assert sorted(pool.imap_unordered(square, range(10), chunksize=4)) == sorted(
    i * i for i in range(10))
it = pool.imap(lambda d: slow(d, d), [0.5])
raises(TimeoutError, it.next, timeout=0.05)
assert it.next(timeout=10) == 0.5
raises(StopIteration, it.next)

# Callbacks run in the driver when the result arrives, before get returns.
seen = []
done = pool.map_async(square, [1, 2], callback=seen.append)
assert done.get(timeout=10) == [1, 4]
assert seen == [[1, 4]]
errors = []
failed = pool.apply_async(fail_on_three, (3,), callback=seen.append, error_callback=errors.append)
failed.wait(10)
assert failed.ready() and len(errors) == 1 and isinstance(errors[0], ZeroDivisionError)
assert seen == [[1, 4]]

# Tasks may use rayx inside the pool's functions.
@ray.remote
def remote_square(x):
    return x * x


assert pool.map(lambda x: ray.get(remote_square.remote(x)), [3, 4]) == [9, 16]

# close: no new work, what was submitted still finishes; join waits for it.
late = pool.apply_async(slow, ("late",))
raises(ValueError, pool.join)  # Still running.
pool.close()
raises(ValueError, pool.apply, square, (1,))
raises(ValueError, pool.map, square, [1])
raises(ValueError, pool.imap, square, [1])
pool.join()
assert late.ready() and late.get() == "late"

# initializer and initargs run in each process; the context manager terminates the pool.
with Pool(2, initializer=init_greeting, initargs=("hello", ",")) as greeter:
    assert greeter.map(greet, ["ann", "bob"]) == ["hello, ann", "hello, bob"]
raises(ValueError, greeter.apply, greet, ("carl",))

# terminate: outstanding work is dropped.
p = Pool(1)
pending = p.apply_async(slow, (1, 5))
p.terminate()
p.join()
raises(Exception, pending.get, 10)
raises(ValueError, p.map, square, [1])

# Bad sizes.
raises(ValueError, Pool, 0)
raises(ValueError, Pool, 3)  # The cluster has 2 CPUs.
with Pool() as default_size:
    assert len(set(default_size.map(pid, range(40)))) == 2

print("multiprocessing pool: all checks held")
