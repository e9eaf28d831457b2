# Run by cluster_work_test.sh with a driver attached to node c of three (resources a, b, c):
# tasks and actors go where their resources are, objects follow the tasks that need them.
import sys

import numpy as np
import rayx
from rayx.util.scheduling_strategies import NodeAffinitySchedulingStrategy

rayx.init(namespace="work")  # The next driver finds its shared-counter there.
by_resource = {}
for n in rayx.nodes():
    assert n["Alive"], n
    for r in "abc":
        if r in n["Resources"]:
            by_resource[r] = n["NodeID"]
assert len(set(by_resource.values())) == 3, by_resource


@rayx.remote
def node():
    return rayx.get_runtime_context().get_node_id()


@rayx.remote
def make(n, fill):
    return np.full(n, fill, dtype=np.int64)


@rayx.remote
def total(v):
    return int(v.sum()), rayx.get_runtime_context().get_node_id()


# Each custom resource takes its task to the node that has it.
for r, want in by_resource.items():
    got = rayx.get(node.options(resources={r: 1}).remote(), timeout=30)
    assert got == want, (r, got, want)

# 24 MB made on a, summed on b, read by the driver on c: the bytes move node to node.
big = make.options(resources={"a": 1}).remote(3_000_000, 7)
s, where = rayx.get(total.options(resources={"b": 1}).remote(big), timeout=60)
assert (s, where) == (21_000_000, by_resource["b"]), (s, where)
v = rayx.get(big, timeout=60)
assert v.shape == (3_000_000,) and int(v[-1]) == 7

# A put on c read by a task on a.
put = rayx.put(np.arange(2_000_000, dtype=np.int64))
s, where = rayx.get(total.options(resources={"a": 1}).remote(put), timeout=60)
assert s == sum(range(2_000_000)) and where == by_resource["a"]

# NodeAffinity: hard to a; soft to an unknown node runs anyway; hard to an unknown one fails.
hard = NodeAffinitySchedulingStrategy(by_resource["a"], soft=False)
assert rayx.get(node.options(scheduling_strategy=hard).remote(), timeout=30) == by_resource["a"]
nowhere = "ab" * 16  # No node has this id (an all-zero id means "none").
soft = NodeAffinitySchedulingStrategy(nowhere, soft=True)
assert rayx.get(node.options(scheduling_strategy=soft).remote(), timeout=30) in by_resource.values()
try:
    rayx.get(node.options(scheduling_strategy=NodeAffinitySchedulingStrategy(nowhere, soft=False)).remote(),
             timeout=30)
    raise AssertionError("a hard affinity to an unknown node must fail")
except rayx.exceptions.RayError as e:
    assert "NodeAffinity" in str(e), e

# SPREAD over three nodes of one CPU each reaches every node.
spread = rayx.get([node.options(scheduling_strategy="SPREAD").remote() for _ in range(6)], timeout=60)
assert set(spread) == set(by_resource.values()), spread


# An actor that needs "b" lives on b and keeps its state; its calls take objects from c.
@rayx.remote(resources={"b": 1})
class Counter:
    def __init__(self, start):
        self.n = start

    def add(self, v):
        self.n += int(v.sum())
        return self.n, rayx.get_runtime_context().get_node_id()


counter = Counter.remote(5)
ones = rayx.put(np.ones(1_000_000, dtype=np.int64))
results = rayx.get([counter.add.remote(ones) for _ in range(3)], timeout=60)
assert results == [(5 + 1_000_000 * i, by_resource["b"]) for i in (1, 2, 3)], results

# A named detached actor on b, for the second driver (attached through a) to find.
Counter.options(name="shared-counter", lifetime="detached").remote(100)
print("spread ok")
