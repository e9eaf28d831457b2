"""End to end: lost objects are rebuilt from their lineage, on one node.

rayx._private.internal_api.drop_object_copies drops every copy of an object, as the death of the
node that held them would. The next get, wait or task that needs a task's result runs the task
that made it again (and, recursively, the tasks that made its lost arguments), within the task's
retry budget; a put object cannot be rebuilt and raises ObjectLostError. Each task appends a line
to a file, so that the runs can be counted.
"""
import os
import tempfile
import time

import rayx
from rayx._private.internal_api import drop_object_copies
from rayx._private.worker import direct_task_count, object_store_stats
from rayx.exceptions import ObjectLostError

rayx.init(num_cpus=1)
LOG_DIR = tempfile.mkdtemp(prefix="rayx-rebuild-")
LARGE = 1 << 20  # Past the inline threshold: the result lives in shared memory.


def runs(name):
    """How many times the task that logs under name ran."""
    try:
        with open(os.path.join(LOG_DIR, name)) as f:
            return len(f.read().splitlines())
    except FileNotFoundError:
        return 0


def note(name):
    with open(os.path.join(LOG_DIR, name), "a") as f:
        f.write("ran\n")


@rayx.remote
def make(name, size):
    note(name)
    return bytes([len(name) % 251]) * size


@rayx.remote
def extend(name, value):
    note(name)
    return value + b"+"


@rayx.remote(max_retries=0)
def no_budget(name):
    note(name)
    return name


@rayx.remote
def sleep(seconds):
    time.sleep(seconds)
    return seconds


# 1. A task's result, inline and in shared memory: rebuilt and got.
for label, size in (("inline", 10), ("shm", LARGE)):
    ref = make.remote(label, size)
    assert rayx.get(ref) == bytes([len(label) % 251]) * size
    assert drop_object_copies([ref]) == 1
    assert rayx.get(ref) == bytes([len(label) % 251]) * size, label
    assert runs(label) == 2, (label, runs(label))
    # Dropped again: the budget (max_retries=3) allows more rebuilds.
    assert drop_object_copies([ref]) == 1
    assert rayx.get(ref) == bytes([len(label) % 251]) * size, label
    assert runs(label) == 3, (label, runs(label))
print("rebuild: a lost result is rebuilt (inline and shared memory)")

# 2. wait on a lost result rebuilds it too.
ref = make.remote("waited", 10)
rayx.get(ref)
drop_object_copies([ref])
ready, _ = rayx.wait([ref], timeout=30)
assert ready == [ref]
assert runs("waited") == 2
print("rebuild: wait rebuilds a lost result")

# 3. A chain a -> b -> c whose results were all dropped, with references to each held.
a = make.remote("chain-a", LARGE)
b = extend.remote("chain-b", a)
c = extend.remote("chain-c", b)
expected = bytes([len("chain-a") % 251]) * LARGE + b"++"
assert rayx.get(c) == expected
assert drop_object_copies([a, b, c]) == 3
assert rayx.get(c) == expected
assert (runs("chain-a"), runs("chain-b"), runs("chain-c")) == (2, 2, 2)
assert rayx.get(a) == expected[:-2]
print("rebuild: a dropped chain is rebuilt recursively")

# 4. The same chain where only the last reference is held: the intermediate results were freed
# once c ran, and their lineage is kept for c's sake.
c = extend.remote("free-c", extend.remote("free-b", make.remote("free-a", 10)))
expected = bytes([len("free-a") % 251]) * 10 + b"++"
assert rayx.get(c) == expected
assert drop_object_copies([c]) == 1
assert rayx.get(c) == expected
assert (runs("free-a"), runs("free-b"), runs("free-c")) == (2, 2, 2)
print("rebuild: a chain of freed intermediates is rebuilt recursively")

# 5. A put object cannot be rebuilt.
put_ref = rayx.put(b"x" * 10)
large_put = rayx.put(b"y" * LARGE)
assert drop_object_copies([put_ref, large_put]) == 2
for ref in (put_ref, large_put):
    try:
        rayx.get(ref)
        raise AssertionError("expected ObjectLostError")
    except ObjectLostError as e:
        assert "put" in str(e), str(e)
print("rebuild: a lost put object raises ObjectLostError")

# 6. A task with max_retries=0 has no budget to rebuild its result: an error, not a hang.
ref = no_budget.remote("no-budget")
assert rayx.get(ref) == "no-budget"
drop_object_copies([ref])
try:
    rayx.get(ref, timeout=30)
    raise AssertionError("expected ObjectLostError")
except ObjectLostError as e:
    assert "no retries left" in str(e), str(e)
assert runs("no-budget") == 1
print("rebuild: a result without retry budget raises ObjectLostError")

# 7. A lost argument of a queued task: the task waits for its rebuild, then runs.
arg = make.remote("queued-arg", LARGE)
rayx.get(arg)
blocker = sleep.remote(1.0)  # Holds the only CPU, so that the next task queues.
time.sleep(0.3)
queued = extend.remote("queued", arg)
time.sleep(0.2)
assert runs("queued") == 0
drop_object_copies([arg])
assert rayx.get(queued) == bytes([len("queued-arg") % 251]) * LARGE + b"+"
assert runs("queued-arg") == 2 and runs("queued") == 1
rayx.get(blocker)
print("rebuild: a lost argument of a queued task is rebuilt before it runs")

# 8. A directly submitted task (sent to a leased worker; its result kept by the driver): dropped
# here and on the node, rebuilt through the node.
del ref  # Its lineage goes (with the next message to the node), before the count is taken.
object_store_stats()
for i in range(30):
    rayx.get(make.remote("warm", 1))
lineage_before = object_store_stats()["lineage_tasks"]  # The lease is still held (20 ms idle).
before = direct_task_count()
ref = make.remote("direct", 10)
assert rayx.get(ref) == bytes([len("direct") % 251]) * 10
assert direct_task_count() == before + 1, "the task did not go direct"
# The node keeps the task's lineage once the worker's own (batched) report of it has come.
deadline = time.monotonic() + 10
while object_store_stats()["lineage_tasks"] == lineage_before and time.monotonic() < deadline:
    time.sleep(0.01)
assert object_store_stats()["lineage_tasks"] == lineage_before + 1, (lineage_before, object_store_stats())
assert drop_object_copies([ref]) == 1
assert rayx.get(ref) == bytes([len("direct") % 251]) * 10
assert runs("direct") == 2, runs("direct")
print("rebuild: a directly submitted task's lost result is rebuilt")

# 9. A task with two returns: a lost one runs the task again, the other keeps its value; both
# lost run it once.
@rayx.remote(num_returns=2)
def pair(name):
    note(name)
    return name + "-0", name + "-1"


r0, r1 = pair.remote("pair")
assert rayx.get([r0, r1]) == ["pair-0", "pair-1"]
drop_object_copies([r0])
assert rayx.get(r0) == "pair-0" and rayx.get(r1) == "pair-1"
assert runs("pair") == 2
drop_object_copies([r0, r1])
assert rayx.get([r0, r1]) == ["pair-0", "pair-1"]
assert runs("pair") == 3, runs("pair")
print("rebuild: a task with two returns is run once per loss")


# 10. A task that gets a lost object (a reference inside its arguments) while it holds the only
# CPU: it lends the CPU, and the rebuild runs.
@rayx.remote
def fetch(refs):
    return rayx.get(refs[0])


ref = make.remote("nested", LARGE)
rayx.get(ref)
drop_object_copies([ref])
assert rayx.get(fetch.remote([ref])) == bytes([len("nested") % 251]) * LARGE
assert runs("nested") == 2
print("rebuild: a get inside a task rebuilds a lost object")

# 11. Every rebuild above was counted by the node, and the lineage goes with the last reference.
import gc  # noqa: E402

expected_rebuilds = sum(runs(name) - 1 for name in os.listdir(LOG_DIR) if name != "warm")
stats = object_store_stats()
assert stats["rebuilt_tasks"] == expected_rebuilds, (stats["rebuilt_tasks"], expected_rebuilds)
assert stats["lineage_tasks"] > 0
del a, b, c, ref, r0, r1, put_ref, large_put, arg, queued, blocker, ready
gc.collect()
deadline = time.monotonic() + 10
# Released references reach the node with the next message (a stats request here) or soon after.
while object_store_stats()["lineage_tasks"] != 0 and time.monotonic() < deadline:
    time.sleep(0.05)
assert object_store_stats()["lineage_tasks"] == 0, object_store_stats()
print(f"rebuild: {expected_rebuilds} rebuilds counted; no lineage left once the references went")

print("rebuild: all checks held")
