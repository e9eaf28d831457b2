"""End to end: the node frees an object exactly when nothing references or maps it any more."""
import gc
import sys
import time

import numpy as np
import rayx
from rayx._private.worker import object_store_stats

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from store_util import MB, store_is_empty, wait_until  # noqa: E402

rayx.init(num_cpus=2, object_store_memory=512 * MB)


def big(i):
    return np.full(2 * MB // 8, i, dtype=np.int64)


def count():
    return object_store_stats()["num_objects"]


# A put lives while its ref does.
r = rayx.put(big(1))
assert count() == 1 and object_store_stats()["used"] >= 2 * MB
del r
wait_until("a dropped put is freed", lambda: count() == 0 and store_is_empty())

# A ref nested in another object keeps its object alive as long as the outer object lives.
inner = rayx.put(big(2))
outer = rayx.put({"inner": [inner]})
del inner
gc.collect()
time.sleep(0.2)
assert count() == 2, object_store_stats()
assert rayx.get(rayx.get(outer)["inner"][0])[0] == 2
del outer
gc.collect()
wait_until("outer and inner are freed", lambda: count() == 0 and store_is_empty())


@rayx.remote
def read_later(holder, delay):
    time.sleep(delay)
    return int(rayx.get(holder[0])[-1])


# A ref borrowed by a task (nested in its arguments) lives until the task ends, even when the
# caller drops it at once.
inner = rayx.put(big(3))
result = read_later.remote([inner], 0.5)
del inner
gc.collect()
assert rayx.get(result) == 3
del result
wait_until("a borrowed ref is freed after the task", lambda: count() == 0 and store_is_empty())


@rayx.remote
def make_nested(i):
    return [rayx.put(big(i))]


# A ref returned from a task (made by a put inside it) outlives the task.
holder = make_nested.remote(4)
inner_ref = rayx.get(holder)[0]
assert rayx.get(inner_ref)[0] == 4
del holder
gc.collect()
assert rayx.get(inner_ref)[0] == 4
del inner_ref
gc.collect()
wait_until("a returned ref is freed", lambda: count() == 0 and store_is_empty())


@rayx.remote
def slow_big(i):
    time.sleep(0.5)
    return big(i)


# A result dropped before its task finishes is freed when it arrives.
r = slow_big.remote(5)
del r
gc.collect()
wait_until("a result dropped early is freed", lambda: count() == 0 and store_is_empty())

# A value read from the store keeps its object (and its memory) while it lives, without refs.
r = rayx.put(big(6))
view = rayx.get(r)
del r
gc.collect()
time.sleep(0.2)
s = object_store_stats()
assert s["num_objects"] == 1 and s["used"] >= 2 * MB, s
assert view[0] == 6 and not view.flags.writeable
del view
gc.collect()
wait_until("an unmapped object is freed", lambda: count() == 0 and store_is_empty())


@rayx.remote
def keep_sum(x):
    return int(x.sum())


# A large task argument is pinned while the task runs and freed after.
r = rayx.put(big(7))
assert rayx.get(keep_sum.remote(r)) == 7 * (2 * MB // 8)
del r
wait_until("a task's argument is freed", lambda: count() == 0 and store_is_empty())
print("refcount: all checks held")
