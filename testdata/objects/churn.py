"""End to end, long: 100 objects of 50 MiB put and dropped through a 200 MiB store, six alive at
a time; the store and the spill directory end empty."""
import gc
import sys
import time

import numpy as np
import rayx
from rayx._private.worker import object_store_stats

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from store_util import MB, store_is_empty, wait_until  # noqa: E402

rayx.init(num_cpus=2, object_store_memory=200 * MB)
N = 50 * MB // 8
start = time.time()
alive = []
for i in range(100):
    alive.append(rayx.put(np.full(N, i, dtype=np.int64)))
    if len(alive) > 6:
        oldest = alive.pop(0)
        assert rayx.get(oldest)[-1] == i - 6  # Often restored from disk.
        del oldest
    assert object_store_stats()["used"] <= 200 * MB + 50 * MB
s = object_store_stats()
assert s["spill_count"] > 50, s
del alive
gc.collect()
wait_until("the store and spill directory are empty", store_is_empty)
s = object_store_stats()
assert s["num_objects"] == 0, s
print(f"churn: all checks held in {time.time() - start:.1f} s; "
      f"spilled {s['spill_count']} objects, restored {s['restore_count']}")
