# Run by cluster_work_test.sh with a driver attached to node a: a named actor created by another
# driver (on node c) and living on node b is found by name from here; its name is taken here too
# (creating another of that name fails, and get_if_exists returns it); then it is killed.
import rayx
import numpy as np


@rayx.remote
class Other:
    def add(self, values):
        return -1, None


rayx.init(namespace="work")  # Where work_spread.py made shared-counter.
counter = rayx.get_actor("shared-counter")
n, where = rayx.get(counter.add.remote(np.ones(10, dtype=np.int64)), timeout=30)
b = [x["NodeID"] for x in rayx.nodes() if "b" in x["Resources"]][0]
assert (n, where) == (110, b), (n, where)
try:
    Other.options(name="shared-counter", lifetime="detached").remote()
    raise AssertionError("a name taken on another node must be refused")
except ValueError as e:
    assert "already taken" in str(e), e
same = Other.options(name="shared-counter", get_if_exists=True).remote()
n, where = rayx.get(same.add.remote(np.ones(10, dtype=np.int64)), timeout=30)
assert (n, where) == (120, b), (n, where)
rayx.kill(counter)
try:
    rayx.get_actor("no-such-actor")
    raise AssertionError("an unknown name must raise")
except ValueError:
    pass
print("lookup ok")
