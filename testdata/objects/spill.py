"""End to end: objects beyond the store's capacity spill to disk, come back intact, and leave
nothing behind when freed; a put fails with ObjectStoreFullError only when spilling fails."""
import gc
import os
import shutil
import sys

import numpy as np
import rayx
from rayx._private.worker import object_store_stats

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from store_util import MB, store_is_empty, wait_until  # noqa: E402

CAPACITY = 100 * MB
rayx.init(num_cpus=2, object_store_memory=CAPACITY)
N = 20 * MB // 8

refs = [rayx.put(np.full(N, i, dtype=np.int64)) for i in range(10)]
s = object_store_stats()
assert s["capacity"] == CAPACITY, s
assert s["used"] <= CAPACITY, s
assert s["spill_count"] >= 5 and s["num_spilled"] >= 5, s
assert len(os.listdir(s["spill_dir"])) == s["num_spilled"], s

# Every object comes back intact, restored on demand.
for i, ref in enumerate(refs):
    v = rayx.get(ref)
    assert v.shape == (N,) and v[0] == i and v[-1] == i
    del v
assert object_store_stats()["restore_count"] >= 5


@rayx.remote
def total(x):
    return int(x[0]), int(x[-1])


# Spilled objects are restored for the tasks that take them as arguments, and task results
# beyond the capacity spill too.
assert rayx.get([total.remote(r) for r in refs]) == [(i, i) for i in range(10)]


@rayx.remote
def make(i):
    return np.full(N, i, dtype=np.int64)


outs = [make.remote(i) for i in range(8)]
assert [int(rayx.get(o)[7]) for o in outs] == list(range(8))

del ref, refs, outs
gc.collect()
wait_until("every object and spill file is gone", store_is_empty)
assert object_store_stats()["num_objects"] == 0

# With nowhere to spill, a put that does not fit fails clearly, and nothing leaks.
spill_dir = object_store_stats()["spill_dir"]
shutil.rmtree(spill_dir)
with open(spill_dir, "w"):
    pass  # A file where the directory was: every spill fails.
keep = [rayx.put(np.full(N, i, dtype=np.int64)) for i in range(4)]  # These fit.
try:
    for i in range(5):
        keep.append(rayx.put(np.full(N, i, dtype=np.int64)))
    raise AssertionError("a put beyond the capacity succeeded with no disk to spill to")
except rayx.exceptions.ObjectStoreFullError as e:
    print("as expected:", str(e)[:100])
os.unlink(spill_dir)
os.mkdir(spill_dir)
# Spilling works again once the disk does.
keep.append(rayx.put(np.full(N, 99, dtype=np.int64)))
assert rayx.get(keep[-1])[0] == 99
del keep
gc.collect()
wait_until("the store is empty at the end", store_is_empty)
print("spill: all checks held")
