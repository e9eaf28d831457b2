"""End to end: a process forked from a driver or a worker leaves the parent's connection alone.

The child inherits the parent's socket to the node; if it wrote to it (dropping inherited
ObjectRefs) or shut it down (rayx.shutdown at exit), the parent would lose its node. rayx calls in
the child fail with a clear error instead. Run by script_test.sh as `rayx run fork.py`.
"""
import multiprocessing
import os

import numpy as np
import rayx

rayx.init(num_cpus=2)


@rayx.remote
def square(x):
    return x * x


refs = [rayx.put(i) for i in range(100)]
view = rayx.get(rayx.put(np.arange(1_000_000)))  # A shared-memory mapping the child inherits.

pid = os.fork()
if pid == 0:
    try:
        rayx.get(refs[0])
        os._exit(3)  # It must not work: the node is the parent's.
    except RuntimeError as e:
        assert "forked" in str(e), e
    del refs, view  # Drops inherited references and mappings.
    raise SystemExit(0)  # Runs atexit handlers, rayx.shutdown among them.
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0, status

# The parent's connection and node are intact.
assert rayx.get(refs) == list(range(100))
assert rayx.get([square.remote(i) for i in range(20)]) == [i * i for i in range(20)]


@rayx.remote
def uses_a_fork_pool(n):
    # A builtin, since the pool's children look functions up by name.
    with multiprocessing.get_context("fork").Pool(2) as pool:
        return sum(pool.map(abs, range(-n, 0)))


assert rayx.get(uses_a_fork_pool.remote(100)) == 5050
assert rayx.get(square.remote(12)) == 144
print("fork: the parent kept its node")
