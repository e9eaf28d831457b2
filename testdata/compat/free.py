"""End to end: ray._private.internal_api.free, as Ray documents it.

Run by script_test.sh as `rayx run free.py`. free deletes the objects' values from the store at
once, though references remain: their memory and spill files go, a get raises ObjectFreedError
(an ObjectLostError), the task that made one is not run again, a wait counts it ready, and a task
that takes it as an argument fails with that error. Each task appends a line to a file, so that
the runs can be counted. Bad arguments raise TypeError, as in Ray.
"""
import os
import tempfile
import time
import warnings

import numpy as np
import ray
from ray._private.internal_api import free
from ray.exceptions import ObjectFreedError, ObjectLostError
from rayx._private.worker import object_store_stats

CAPACITY = 64 << 20
ray.init(num_cpus=2, object_store_memory=CAPACITY)
LOG_DIR = tempfile.mkdtemp(prefix="rayx-free-")
LARGE = 1 << 20  # Past the inline threshold: the value lives in shared memory.


def runs(tag):
    path = os.path.join(LOG_DIR, tag)
    if not os.path.exists(path):
        return 0
    with open(path) as f:
        return len(f.read().splitlines())


@ray.remote
def make(tag, size):
    with open(os.path.join(LOG_DIR, tag), "a") as f:
        f.write("ran\n")
    return np.ones(size, dtype=np.uint8)


@ray.remote
def slow(tag, seconds):
    time.sleep(seconds)
    with open(os.path.join(LOG_DIR, tag), "a") as f:
        f.write("ran\n")
    return np.ones(LARGE, dtype=np.uint8)


@ray.remote
def length(array):
    return len(array)


def raises_freed(ref):
    try:
        ray.get(ref, timeout=30)
    except ObjectFreedError as e:
        assert isinstance(e, ObjectLostError)
        assert "manually freed" in str(e) and "`free`" in str(e), str(e)
        return
    raise AssertionError("a get of a freed object did not raise ObjectFreedError")


def eventually(what, pred, timeout=20.0):
    deadline = time.time() + timeout
    while not pred():
        if time.time() > deadline:
            raise AssertionError(f"{what} did not happen: {object_store_stats()}")
        time.sleep(0.02)


# Puts, large (shared memory) and small (inline): the store's use drops at once.
before = object_store_stats()["used"]
large = ray.put(np.ones(4 * LARGE, dtype=np.uint8))
small = ray.put(b"small value")
assert object_store_stats()["used"] >= before + 4 * LARGE
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    free([large, small])
assert any(issubclass(w.category, DeprecationWarning) for w in caught), caught
warnings.simplefilter("ignore", DeprecationWarning)  # Said once; the rest of the run is quiet.
eventually("the store's use to drop", lambda: object_store_stats()["used"] <= before)
raises_freed(large)
raises_freed(small)
free(large)  # A second free, and one ref alone, are fine.
raises_freed(large)
print("free: puts are freed and raise ObjectFreedError")

# Task results are freed and not rebuilt: their task does not run again.
for tag, size in [("large-result", LARGE), ("small-result", 10)]:
    ref = make.remote(tag, size)
    assert len(ray.get(ref)) == size
    free([ref])
    raises_freed(ref)
    ready, pending = ray.wait([ref], timeout=10)
    assert ready == [ref] and pending == [], (ready, pending)
    raises_freed(ref)
    time.sleep(0.2)
    assert runs(tag) == 1, (tag, runs(tag))
print("free: task results are freed and not rebuilt")

# A task that takes a freed object as an argument fails with that error.
arg = ray.put(np.ones(LARGE, dtype=np.uint8))
assert ray.get(length.remote(arg)) == LARGE
free([arg])
try:
    ray.get(length.remote(arg), timeout=30)
    raise AssertionError("a task with a freed argument did not fail")
except ObjectLostError as e:
    assert "manually freed" in str(e), str(e)
print("free: a task with a freed argument fails")

# A pending object is freed at once: a get raises; its task's value is dropped when it comes.
ref = slow.remote("pending", 0.5)
free([ref])
raises_freed(ref)
eventually("the slow task to run", lambda: runs("pending") == 1)
time.sleep(0.3)
raises_freed(ref)
assert runs("pending") == 1
print("free: a pending object is freed")

# A spilled object's file goes too.
spilled = [ray.put(np.ones(16 * LARGE, dtype=np.uint8)) for _ in range(6)]
eventually("a spill", lambda: object_store_stats()["spilled_bytes"] > 0)
free(spilled)
eventually("the spill files to go", lambda: object_store_stats()["spilled_bytes"] == 0)
eventually("the store's use to drop", lambda: object_store_stats()["used"] <= before)
for ref in spilled:
    raises_freed(ref)
print("free: spilled objects are freed with their files")

# Bad arguments: TypeError, as in Ray; an empty list is fine.
free([])
for bad, fragment in [("not a ref", "expects a list"), ([ref, 3], "not an ray.ObjectRef")]:
    try:
        free(bad)
        raise AssertionError(f"free({bad!r}) did not raise TypeError")
    except TypeError as e:
        assert fragment in str(e), str(e)
print("free: all checks held")
