"""End to end: reference removals that wait to travel with the next frame.

Dropping the last ObjectRef of an object does not message the node at once: the removal waits
for the next frame the process sends, or for a few milliseconds when it sends none. These checks
hold the engine to the two promises that make that safe: an id held again while its removal
waits stays alive (the removal is cancelled, never sent after the add), and an idle process's
removals still reach the node, so what it dropped is freed.
"""
import gc
import time

import numpy as np
import rayx
from rayx._private import worker

rayx.init(num_cpus=2)


@rayx.remote
def make(i):
    return np.full(200_000, i, dtype=np.int64)  # 1.6 MB: a shared-memory object.


@rayx.remote
def store_used_after(seconds):
    time.sleep(seconds)
    return worker.object_store_stats()["used"]


# Re-adding an id while its removal waits. As in real programs, the reference comes back inside
# another object that keeps it alive, so the object must be there whether the removal was
# cancelled (it was still waiting) or had already gone out (the flusher sent it).
for i in range(100):
    if i % 2:
        ref = make.remote(i)
        rayx.get(ref)
    else:
        ref = rayx.put(np.full(200_000, i, dtype=np.int64))
    box = rayx.put([ref])
    del ref  # The removal waits...
    (again,) = rayx.get(box)  # ...and this add cancels it, or follows it.
    del box
    if i % 3 == 0:
        time.sleep(0.02)  # Longer than the flusher's delay.
    else:
        make.remote(-1)  # A frame that would carry the removal.
    value = rayx.get(again, timeout=30)
    assert value[0] == i and value[-1] == i, (i, value[:3])
    del again, value

# A reference rebuilt from the bytes of an id this process let go of: the object is still there
# when the removal was still waiting (cancelled), or reported lost when it had gone out; a get
# never waits for ever.
kept = lost = 0
for i in range(50):
    ref = rayx.put(np.full(200_000, i, dtype=np.int64))
    object_id = ref.binary()
    del ref
    again = rayx.ObjectRef(object_id)
    try:
        value = rayx.get(again, timeout=10)
        assert value[0] == i, (i, value[:3])
        kept += 1
    except rayx.exceptions.ObjectLostError:
        lost += 1
    del again
assert kept + lost == 50 and kept > 0, (kept, lost)
gc.collect()

# Removed, added, removed again while waiting: sent once, and the object goes.
used_before = worker.object_store_stats()["used"]
ref = rayx.put(np.ones(400_000))  # 3.2 MB
object_id = ref.binary()
del ref
again = rayx.ObjectRef(object_id)
del again
assert worker.object_store_stats()["used"] <= used_before + 100_000, "dropped object not freed"

# An idle driver's removal still reaches the node: a task looks at the store while the driver
# sleeps without sending anything.
big = rayx.put(np.ones(400_000))
used_with_big = worker.object_store_stats()["used"]
probe = store_used_after.remote(0.5)
del big
time.sleep(1.0)
used_seen_by_task = rayx.get(probe)
assert used_seen_by_task <= used_with_big - 3_000_000, (used_with_big, used_seen_by_task)

print("ref batching: all checks held")
