"""End to end: ray._private.internal_api.memory_summary, as Ray documents it.

Run by script_test.sh as `rayx run memory_summary.py`. The text lists the node's objects with
their sizes and reference types, sorted by size, then the store's aggregate figures in Ray's
format; stats_only gives the figures alone, num_entries limits the rows, and an unknown group_by,
sort_by or units is a ValueError.
"""
import re

import numpy as np
import ray
from ray._private.internal_api import memory_summary

ray.init(num_cpus=1)
MB = 1 << 20

big = ray.put(np.ones(MB, dtype=np.uint8))
small = ray.put(b"small")
text = memory_summary()
print(text)
rows = {line.split()[0]: line.split() for line in text.splitlines()
        if line and line.split()[0] in (big.hex(), small.hex())}
assert set(rows) == {big.hex(), small.hex()}, text
size = float(rows[big.hex()][1])
assert MB <= size < MB + 4096, rows[big.hex()]
assert rows[big.hex()][3] == "LOCAL_REFERENCE", rows[big.hex()]
starts = [line.split()[0] for line in text.splitlines() if line.split()]
assert starts.index(big.hex()) < starts.index(small.hex()), "sorted by size, largest first"
stats = re.search(r"--- Aggregate object store stats across all nodes ---\n"
                  r"Plasma memory usage (\d+) MiB, (\d+) objects, ([\d.]+)% full, ([\d.]+)% needed\n",
                  text)
assert stats, text
assert int(stats.group(1)) >= 1 and int(stats.group(2)) >= 1, stats.groups()

only = memory_summary(stats_only=True)
assert only.startswith("--- Aggregate object store stats across all nodes ---\n"), only
assert big.hex() not in only
assert f"{size / 1e6} MB" in memory_summary(units="MB")
one = memory_summary(num_entries=1)
assert big.hex() in one and small.hex() not in one, one

for bad in [{"group_by": "COLOR"}, {"sort_by": "AGE"}, {"units": "TB"}]:
    try:
        memory_summary(**bad)
        raise AssertionError(f"memory_summary({bad}) did not raise ValueError")
    except ValueError as e:
        assert list(bad.values())[0] in str(e), str(e)
print("memory summary: all checks held")
