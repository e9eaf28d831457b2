"""End to end: the rest of ray.util (imports, get_node_ip_address, inspect_serializability,
scheduling strategies as the scheduling_strategy option, accelerator names).

Run by script_test.sh as `rayx run util_misc.py`.
"""
import io
import socket
import threading
import warnings

import ray
import ray.util
import rayx
import rayx.util
from ray.util import ActorPool, get_node_ip_address, inspect_serializability  # noqa: F401
from ray.util import accelerators
from ray.util.accelerators import NVIDIA_TESLA_V100
from ray.util.multiprocessing import Pool  # noqa: F401
from ray.util.queue import Queue  # noqa: F401
from ray.util.scheduling_strategies import (
    NodeAffinitySchedulingStrategy,
    PlacementGroupSchedulingStrategy,
)

# `ray.util` is `rayx.util`, like `ray` is `rayx`.
assert ray.util is rayx.util and ray.util.ActorPool is rayx.util.ActorPool
import ray.util.queue as rq  # noqa: E402
import rayx.util.queue as xq  # noqa: E402

assert rq is xq

# get_node_ip_address: an IPv4 address of this machine.
ip = get_node_ip_address()
socket.inet_aton(ip)
assert ip.count(".") == 3, ip

# Accelerator names are Ray's strings.
assert NVIDIA_TESLA_V100 == "V100" and accelerators.NVIDIA_TESLA_T4 == "T4"
assert accelerators.NVIDIA_A100 == "A100" and accelerators.GOOGLE_TPU_V4 == "TPU-V4"

# inspect_serializability: what serializes, and the variable that does not.
out = io.StringIO()
ok, failures = inspect_serializability(lambda x: x + 1, name="adder", print_file=out)
assert ok and failures == set()
assert "Checking Serializability of" in out.getvalue()

lock = threading.Lock()


def uses_lock():
    with lock:
        return 1


out = io.StringIO()
ok, failures = inspect_serializability(uses_lock, name="uses_lock", print_file=out)
text = out.getvalue()
assert not ok and len(failures) == 1, (ok, failures)
(failure,) = failures
assert failure.name == "lock" and failure.obj is lock, failure
assert "!!! FAIL serialization" in text and "Detected 1 global variables" in text, text
assert "FailTuple(lock [obj=" in text and "was found to be non-serializable" in text, text


class Holder:
    def __init__(self):
        self.lock = threading.Lock()


ok, failures = inspect_serializability(Holder(), print_file=io.StringIO())
assert not ok and {f.name for f in failures} == {"lock"}, failures

ray.init(num_cpus=2)


@ray.remote
def where():
    return ray.get_runtime_context().get_node_id()


@ray.remote
class Here:
    def where(self):
        return ray.get_runtime_context().get_node_id()


# scheduling_strategy: "DEFAULT", "SPREAD" and the strategy classes are accepted, without a
# warning; on one node, everything runs on it.
node_id = ray.get_runtime_context().get_node_id()
with warnings.catch_warnings():
    warnings.simplefilter("error")
    for strategy in (
        "DEFAULT",
        "SPREAD",
        NodeAffinitySchedulingStrategy(node_id=node_id, soft=False),
        NodeAffinitySchedulingStrategy(node_id=node_id, soft=True),
    ):
        assert ray.get(where.options(scheduling_strategy=strategy).remote()) == node_id
        actor = Here.options(scheduling_strategy=strategy).remote()
        assert ray.get(actor.where.remote()) == node_id
    spread = ray.remote(scheduling_strategy="SPREAD")(lambda: 7)
    assert ray.get(spread.remote()) == 7
strategy = NodeAffinitySchedulingStrategy(node_id=node_id, soft=False)
assert strategy.node_id == node_id and strategy.soft is False
pg_strategy = PlacementGroupSchedulingStrategy(placement_group=None)
assert pg_strategy.placement_group_bundle_index == -1
assert pg_strategy.placement_group_capture_child_tasks is None
for bad in ("BOGUS", 42):
    try:
        where.options(scheduling_strategy=bad)
        raise AssertionError(f"scheduling_strategy={bad!r} must raise ValueError")
    except ValueError as e:
        assert "scheduling_strategy" in str(e)

print("ray.util: all checks held")
