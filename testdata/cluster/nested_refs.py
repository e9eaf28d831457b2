# Run by cluster_nested_test.sh with a driver attached to node c. ObjectRefs nested in values that
# cross nodes: a task on b returns references to objects b owns (a put, a task's result, one not
# ready yet, a large one in b's store); the driver reads them, passes them on, nested and at the
# top level, to tasks on a, and hands a ref not ready yet to a task on a. Then it lets go of them
# all and waits, with argv[1] as a flag file, until the test has seen b's store empty.
import os
import sys
import time

import numpy as np
import rayx

rayx.init()
flag = sys.argv[1]
on_a = {"resources": {"a": 1}}
on_b = {"resources": {"b": 1}}


@rayx.remote
def inner(i, delay=0.0):
    time.sleep(delay)
    return np.full(250_000, i, dtype=np.int64)  # 2 MB: in the store of the node that ran it.


@rayx.remote
def outer():
    small = rayx.put({"made on": rayx.get_runtime_context().get_node_id()})
    big = rayx.put(np.arange(500_000, dtype=np.int64))  # 4 MB, in b's store.
    return [small, big, inner.remote(7), inner.remote(8, delay=1.5)]


@rayx.remote
def total(refs):
    return [int(np.sum(rayx.get(r))) if not isinstance(rayx.get(r), dict) else -1 for r in refs]


@rayx.remote
def total_top(array):
    return int(np.sum(array))


@rayx.remote
def slow_local():
    time.sleep(1.0)
    return np.ones(100_000, dtype=np.int64)


b = [n["NodeID"] for n in rayx.nodes() if "b" in n["Resources"]][0]
refs = rayx.get(outer.options(**on_b).remote(), timeout=60)
small, big, seven, eight = refs
assert rayx.get(small, timeout=30) == {"made on": b}, rayx.get(small)
assert int(np.sum(rayx.get(big, timeout=30))) == sum(range(500_000))
assert int(np.sum(rayx.get(seven, timeout=30))) == 7 * 250_000
started = time.time()
assert int(np.sum(rayx.get(eight, timeout=30))) == 8 * 250_000
print("nested refs read from c", flush=True)

# Passed on to a: nested (a borrows them from c, which borrowed them from b) and at the top level.
assert rayx.get(total.options(**on_a).remote([small, big, seven]), timeout=60) == [
    -1, sum(range(500_000)), 7 * 250_000]
assert rayx.get(total_top.options(**on_a).remote(big), timeout=60) == sum(range(500_000))
print("nested refs passed on to a", flush=True)

# A ref that is not ready when the task that carries it is sent to a.
pending = slow_local.remote()
assert rayx.get(total.options(**on_a).remote([pending]), timeout=60) == [100_000]
print("a ref not ready when sent reached a", flush=True)

del refs, small, big, seven, eight, pending
print("released", flush=True)
open(flag, "w").close()
for _ in range(300):
    if not os.path.exists(flag):
        break
    time.sleep(0.1)
print("nested ok")
