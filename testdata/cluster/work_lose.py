# Run by cluster_work_test.sh with a driver attached to node a: results that live on node b
# alone, and a task running on b, survive b's death (kill -9): the results are rebuilt from
# lineage and the task retried elsewhere. argv[1]: a flag file; it is created when b may be
# killed (the test checks then that b's store holds them), and the test removes it once b is dead.
import os
import sys
import time

import numpy as np
import rayx
from rayx.util.scheduling_strategies import NodeAffinitySchedulingStrategy

rayx.init()
flag = sys.argv[1]
b = [n["NodeID"] for n in rayx.nodes() if "b" in n["Resources"]][0]
on_b = NodeAffinitySchedulingStrategy(b, soft=True)


@rayx.remote(max_retries=2)
def make(i):
    return np.full(500_000, i, dtype=np.int64), rayx.get_runtime_context().get_node_id()


@rayx.remote(max_retries=2)
def slow(i):
    time.sleep(2 if rayx.get_runtime_context().get_node_id() == b else 0)
    return i, rayx.get_runtime_context().get_node_id()


@rayx.remote(max_retries=0)
def fragile():
    time.sleep(30)


made = [make.options(scheduling_strategy=on_b).remote(i) for i in range(3)]
rayx.wait(made, num_returns=3, fetch_local=False, timeout=60)
running = slow.options(scheduling_strategy=NodeAffinitySchedulingStrategy(b, soft=True)).remote(9)
doomed = fragile.options(scheduling_strategy=NodeAffinitySchedulingStrategy(b, soft=True)).remote()
time.sleep(0.5)
open(flag, "w").close()
while os.path.exists(flag):
    time.sleep(0.05)
values = rayx.get(made, timeout=60)
assert [int(v[0]) for v, _ in values] == [0, 1, 2], values
assert all(node != b for _, node in values), values
i, node = rayx.get(running, timeout=60)
assert i == 9 and node != b, (i, node)
try:
    rayx.get(doomed, timeout=60)
    raise AssertionError("a task without retries on a dead node must fail")
except rayx.exceptions.RayError as e:
    assert "died" in str(e), e
print("lose ok")
