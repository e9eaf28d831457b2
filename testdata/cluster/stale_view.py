# Run by cluster_nested_test.sh with a driver attached to node c; nodes a and b each have one
# unit of the resource x. Each round pins a long task that takes x on one of them (by affinity)
# and at once sends a task that needs x: the driver's node still believes, until the next
# heartbeat, that both have x free. Whichever it picks first, the task must run at once on the
# other one: when it picks the busy one, that node refuses the task and it goes on to the next.
# The pinned node alternates, so that both orders are tried.
import time

import rayx
from rayx.util.scheduling_strategies import NodeAffinitySchedulingStrategy

rayx.init()
nodes = {n["NodeID"]: n["Resources"] for n in rayx.nodes()}
a = [i for i, r in nodes.items() if "a" in r][0]
b = [i for i, r in nodes.items() if "b" in r][0]


@rayx.remote(resources={"x": 1})
def hog():
    time.sleep(4)
    return rayx.get_runtime_context().get_node_id()


@rayx.remote(resources={"x": 1})
def quick():
    return rayx.get_runtime_context().get_node_id()


for round_, (busy, free) in enumerate([(a, b), (b, a), (a, b), (b, a)]):
    time.sleep(1.2)  # Heartbeats tell every node that a and b are both free again.
    pinned = hog.options(scheduling_strategy=NodeAffinitySchedulingStrategy(busy, soft=False)).remote()
    started = time.time()
    where = rayx.get(quick.remote(), timeout=30)
    took = time.time() - started
    print(f"round {round_}: ran on {'a' if where == a else 'b'} in {took:.2f} s", flush=True)
    assert where == free, "the task waited for the busy node"
    assert took < 2.5, f"the task took {took:.2f} s"
    assert rayx.get(pinned, timeout=30) == busy
print("stale ok")
