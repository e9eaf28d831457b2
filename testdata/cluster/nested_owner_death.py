# Run by cluster_nested_test.sh with a driver attached to node c: references to objects that node
# b owns, one read here already (small), one in b's store and not read, one whose task still runs
# on b. argv[1]: a flag file; the test kills b (kill -9) when it appears and removes it once b is
# dead. Then the objects without a copy here raise OwnerDiedError; the one read already is still
# here.
import os
import sys
import time

import numpy as np
import rayx

rayx.init()
flag = sys.argv[1]


@rayx.remote
def forever():
    time.sleep(120)


@rayx.remote
def outer():
    small = rayx.put("small, read before b died")
    big = rayx.put(np.zeros(500_000, dtype=np.int64))
    return [small, big, forever.options(resources={"b": 1}, num_cpus=0).remote()]


small, big, running = rayx.get(outer.options(resources={"b": 1}).remote(), timeout=60)
assert rayx.get(small, timeout=30) == "small, read before b died"
ready, _ = rayx.wait([big], timeout=30, fetch_local=False)
assert ready == [big]
open(flag, "w").close()
for _ in range(600):
    if not os.path.exists(flag):
        break
    time.sleep(0.05)
assert not os.path.exists(flag), "b was not killed"
for ref, what in ((big, "a put in b's store"), (running, "a task running on b")):
    try:
        rayx.get(ref, timeout=30)
    except rayx.exceptions.OwnerDiedError as e:
        print("OwnerDiedError for", what, ":", str(e).splitlines()[0], flush=True)
    else:
        raise AssertionError(f"{what}: no OwnerDiedError")
assert rayx.get(small, timeout=10) == "small, read before b died"
print("owner death ok")
