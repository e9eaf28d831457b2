"""A driver attached to a member over TCP (rayx run --address with RAYX_ATTACH_OVER_TCP=1).

Tasks, puts and gets of 1 MB and 20 MB arrays both ways, an actor, and the values over the 64 MiB
inline limit refused with errors that say why. Prints "tcp driver ok" when everything held.
"""
import os

import numpy as np
import rayx
from rayx._private.worker import direct_task_count

address = os.environ["RAYX_ADDRESS"]
assert address.startswith("tcp://"), address
rayx.init()
assert rayx.get_runtime_context().get_node_id() == os.environ["EXPECTED_NODE_ID"]


@rayx.remote
def square(x):
    return x * x


@rayx.remote
def total(array):
    return float(array.sum()), array.nbytes


@rayx.remote
def make(nbytes, fill):
    return np.full(nbytes // 8, fill, dtype=np.float64)


@rayx.remote
class Counter:
    def __init__(self, start):
        self.value = start

    def add(self, n):
        self.value += n
        return self.value


assert rayx.get([square.remote(i) for i in range(20)]) == [i * i for i in range(20)]
# One at a time, as a driver on the node's machine would send them to a leased worker: here every
# one goes through the node, since no worker is leased to a driver over TCP.
assert [rayx.get(square.remote(i)) for i in range(50)] == [i * i for i in range(50)]
assert direct_task_count() == 0, direct_task_count()
print("tasks ok")

for nbytes in (1 << 20, 20 << 20):
    array = np.arange(nbytes // 8, dtype=np.float64)
    ref = rayx.put(array)
    back = rayx.get(ref)
    assert np.array_equal(back, array), nbytes
    assert rayx.get(total.remote(ref)) == (float(array.sum()), nbytes), nbytes
    assert rayx.get(total.remote(array)) == (float(array.sum()), nbytes), nbytes
    made = rayx.get(make.remote(nbytes, 3.0))
    assert made.nbytes == nbytes and float(made.sum()) == 3.0 * (nbytes // 8), nbytes
    print(f"arrays of {nbytes} bytes ok")

counter = Counter.remote(10)
assert rayx.get([counter.add.remote(1) for _ in range(5)]) == [11, 12, 13, 14, 15]
print("actor ok")

try:
    rayx.put(np.zeros((70 << 20) // 8))
    raise AssertionError("a put over the inline limit was taken")
except ValueError as e:
    assert "over the limit" in str(e) and "no such limit" in str(e), e
    print("too large put:", e)
try:
    rayx.get(make.remote(70 << 20, 1.0))
    raise AssertionError("a result over the inline limit was sent")
except rayx.exceptions.ObjectTooLargeError as e:
    assert "no such limit" in str(e), e
    print("too large get:", e)
# The connection is still good after both refusals.
assert rayx.get(square.remote(7)) == 49
print("tcp driver ok")
