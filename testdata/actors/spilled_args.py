"""End to end: an actor's constructor and method arguments that were spilled to disk are restored
before the actor gets them. Run by script_test.sh as `rayx run spilled_args.py`.
"""
import numpy as np
import rayx
from rayx._private import worker

rayx.init(num_cpus=2, object_store_memory=100 * 1024 * 1024)
MB = 1024 * 1024


@rayx.remote
class Summer:
    def __init__(self, start):
        self.start = int(start[0])

    def total(self, v):
        return int(v[0]) + int(v[-1]) + self.start


first = rayx.put(np.full(24 * MB // 8, 1, dtype=np.int64))
arrays = [rayx.put(np.full(24 * MB // 8, i, dtype=np.int64)) for i in range(8)]  # 192 MiB: spills
assert worker.object_store_stats()["spill_count"] > 0
summer = Summer.remote(first)  # Its argument was spilled when the store filled up.
assert rayx.get([summer.total.remote(a) for a in arrays]) == [2 * i + 1 for i in range(8)]
print("spilled_args: all checks held")
