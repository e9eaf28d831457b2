"""End to end: placement groups, as Ray's placement group guide describes them.

Run by script_test.sh as `rayx run placement_groups.py` on one node of 4 CPUs: ready() and
wait(), a group that waits for resources and is reserved when they free, tasks and actors in a
bundle, a task asking more than its bundle holds (stays pending), bundle indexes, child tasks
captured by their parent's group, removal (its actor killed, its waiting task failed, its
resources back), get_placement_group by name, placement_group_table, STRICT_SPREAD of two
bundles on one node (pending), the legacy options, and bad bundles (ValueError).
"""
import time

import ray
from ray.util.placement_group import (
    PlacementGroup,
    get_current_placement_group,
    get_placement_group,
    placement_group,
    placement_group_table,
    remove_placement_group,
)
from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

ray.init(num_cpus=4)


def raises(error, call, *fragments):
    try:
        call()
    except error as e:
        for fragment in fragments:
            assert fragment in str(e), f"{fragment!r} not in {e!r}"
        return e
    raise AssertionError(f"{call} did not raise {error.__name__}")


def free_cpus() -> float:
    return ray.available_resources().get("CPU", 0)


def wait_for(condition, what, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def in_group(pg, index=-1, capture=False):
    return PlacementGroupSchedulingStrategy(
        placement_group=pg, placement_group_bundle_index=index,
        placement_group_capture_child_tasks=capture)


@ray.remote(num_cpus=1)
def where():
    ctx = ray.get_runtime_context()
    return ctx.get_placement_group_id(), ctx.should_capture_child_tasks_in_placement_group


@ray.remote(num_cpus=1)
def parent():
    # A child with default options: in the parent's group when it captures, else not.
    current = get_current_placement_group()
    child = ray.get(where.remote())
    return (current.id.hex() if current is not None else None), child


@ray.remote
class Counter:
    def __init__(self):
        self.n = 0

    def add(self):
        self.n += 1
        return self.n

    def group(self):
        return ray.get_runtime_context().get_placement_group_id()


# --- Bad input: ValueError, as in Ray.
raises(ValueError, lambda: placement_group([]), "empty list")
raises(ValueError, lambda: placement_group([{}]), "empty dictionary")
raises(ValueError, lambda: placement_group([{"CPU": 0}]), "only 0 values")
raises(ValueError, lambda: placement_group([{"CPU": -1}]), "negative")
raises(ValueError, lambda: placement_group({"CPU": 1}), "must be list")
raises(ValueError, lambda: placement_group([{"CPU": "1"}]), "numbers")
raises(ValueError, lambda: placement_group([{"CPU": 1}], strategy="PACKED"), "strategy")
raises(ValueError, lambda: placement_group([{"CPU": 1}], lifetime="forever"), "lifetime")
assert free_cpus() == 4, ray.available_resources()

# --- ready() and wait(): two bundles of one CPU reserved at once, taken from the node.
pg = placement_group([{"CPU": 1}, {"CPU": 1}], strategy="PACK", name="pair")
assert isinstance(pg, PlacementGroup) and len(pg.id.hex()) == 36
assert pg.bundle_specs == [{"CPU": 1.0}, {"CPU": 1.0}] and pg.bundle_count == 2
assert ray.get(pg.ready(), timeout=20) == pg
assert pg.wait(5) is True
wait_for(lambda: free_cpus() == 2, "the node's CPUs to go to the group")
resources = ray.cluster_resources()
assert resources[f"CPU_group_{pg.id.hex()}"] == 2, resources
assert resources[f"CPU_group_0_{pg.id.hex()}"] == 1, resources

# --- A task and an actor in a bundle see the group; the driver is in none.
assert ray.get(where.options(scheduling_strategy=in_group(pg, 0)).remote()) == (pg.id.hex(), False)
assert ray.get(where.options(scheduling_strategy=in_group(pg)).remote()) == (pg.id.hex(), False)
assert ray.get(where.remote()) == (None, False)
assert ray.get_runtime_context().get_placement_group_id() is None
counter = Counter.options(scheduling_strategy=in_group(pg, 1)).remote()
assert ray.get(counter.add.remote()) == 1
assert ray.get(counter.group.remote()) == pg.id.hex()

# --- A task asking more than its bundle holds stays pending (the node has the CPUs free).
too_big = where.options(num_cpus=2, scheduling_strategy=in_group(pg, 0)).remote()
raises(ray.exceptions.GetTimeoutError, lambda: ray.get(too_big, timeout=1.5))
assert free_cpus() == 2
# Bundle 0 holds one CPU: two one-CPU tasks in it run one after the other, never together.


@ray.remote(num_cpus=1)
def hold(seconds):
    start = time.monotonic()
    time.sleep(seconds)
    return start, time.monotonic()


a, b = ray.get([hold.options(scheduling_strategy=in_group(pg, 0)).remote(0.5)
                for _ in range(2)], timeout=30)
assert a[1] <= b[0] or b[1] <= a[0], (a, b)

# --- Bundle indexes are checked, as in Ray.
raises(ValueError, lambda: where.options(scheduling_strategy=in_group(pg, 2)).remote(),
       "placement_group_bundle_index")
raises(ValueError, lambda: where.options(scheduling_strategy=in_group(pg, -2)).remote(),
       "placement_group_bundle_index")

# --- Capture: a child with default options goes to its parent's group only with capture.
captured = parent.options(scheduling_strategy=in_group(pg, 0, capture=True)).remote()
assert ray.get(captured, timeout=30) == (pg.id.hex(), (pg.id.hex(), True)), ray.get(captured)
free = parent.options(scheduling_strategy=in_group(pg, 0)).remote()
assert ray.get(free, timeout=30) == (pg.id.hex(), (None, False)), ray.get(free)
# The legacy options say the same.
legacy = parent.options(placement_group=pg, placement_group_bundle_index=1,
                        placement_group_capture_child_tasks=True).remote()
assert ray.get(legacy, timeout=30) == (pg.id.hex(), (pg.id.hex(), True))
raises(ValueError, lambda: where.options(placement_group=pg, scheduling_strategy="SPREAD")
       .remote(), "cannot be set at the same time")

# --- get_placement_group by name, and the table.
same = get_placement_group("pair")
assert same == pg and same.bundle_specs == pg.bundle_specs
raises(ValueError, lambda: get_placement_group("nobody"), "nobody")
entry = placement_group_table(pg)
assert entry["placement_group_id"] == pg.id.hex() and entry["name"] == "pair", entry
assert entry["state"] == "CREATED" and entry["strategy"] == "PACK", entry
assert entry["bundles"] == {0: {"CPU": 1.0}, 1: {"CPU": 1.0}}, entry
assert set(entry["bundles_to_node_id"].values()) == {ray.get_runtime_context().get_node_id()}
assert pg.id.hex() in placement_group_table()

# --- A group that does not fit waits, and is reserved when resources free.
blocker = placement_group([{"CPU": 2}])
assert blocker.wait(10)
assert free_cpus() == 0
waiting = placement_group([{"CPU": 1}, {"CPU": 1}], strategy="STRICT_PACK")
assert waiting.wait(1) is False
assert placement_group_table(waiting)["state"] == "PENDING"
queued = where.options(scheduling_strategy=in_group(waiting, 1)).remote()
raises(ray.exceptions.GetTimeoutError, lambda: ray.get(queued, timeout=0.5))
remove_placement_group(blocker)  # Its two CPUs go to the waiting group, all at once.
assert ray.get(waiting.ready(), timeout=20) == waiting
assert ray.get(queued, timeout=20) == (waiting.id.hex(), False)
assert placement_group_table(blocker)["state"] == "REMOVED"

# --- STRICT_SPREAD of two bundles cannot be placed on one node: pending.
spread = placement_group([{"CPU": 0.1}, {"CPU": 0.1}], strategy="STRICT_SPREAD")
assert spread.wait(1) is False
assert placement_group_table(spread)["state"] == "PENDING"

# --- Removal: the actor dies, a waiting task fails, the CPUs come back.
pending_task = where.options(num_cpus=2, scheduling_strategy=in_group(pg, 1)).remote()
remove_placement_group(pg)
raises(ray.exceptions.RayActorError, lambda: ray.get(counter.add.remote(), timeout=20))
raises(ray.exceptions.RayError, lambda: ray.get(pending_task, timeout=20), "removed")
raises(ray.exceptions.RayError, lambda: ray.get(too_big, timeout=20), "removed")
assert placement_group_table(pg)["state"] == "REMOVED"
raises(ValueError, lambda: get_placement_group("pair"), "pair")
remove_placement_group(waiting)
remove_placement_group(spread)  # Pending: nothing was reserved, nothing is given back.
wait_for(lambda: free_cpus() == 4, "every CPU to come back")
assert not any("_group_" in name for name in ray.cluster_resources()), ray.cluster_resources()

# --- SPREAD is a preference: on one node both bundles go there.
soft = placement_group([{"CPU": 1}, {"CPU": 1}], strategy="SPREAD", lifetime="detached")
assert soft.wait(10) and free_cpus() == 2
remove_placement_group(soft)
wait_for(lambda: free_cpus() == 4, "the SPREAD group's CPUs to come back")

# --- Work with no group still runs as before.
assert ray.get(where.remote()) == (None, False)

print("placement groups: all checks held")
