# Run by cluster_work_test.sh with a driver attached to node a: a named actor created by another
# driver (on node c) and living on node b is found by name from here, and killed.
import rayx
import numpy as np

rayx.init()
counter = rayx.get_actor("shared-counter")
n, where = rayx.get(counter.add.remote(np.ones(10, dtype=np.int64)), timeout=30)
b = [x["NodeID"] for x in rayx.nodes() if "b" in x["Resources"]][0]
assert (n, where) == (110, b), (n, where)
rayx.kill(counter)
try:
    rayx.get_actor("no-such-actor")
    raise AssertionError("an unknown name must raise")
except ValueError:
    pass
print("lookup ok")
