"""Placement groups across members (run by cluster_pg_test.sh, attached to member a, with b's
daemon pid as argv[1], after a driver attached to b made the detached group "other"): a 2 CPUs,
b 2 CPUs and the resource "b", c 2 CPUs and 1 GPU.

Two drivers' first groups have distinct ids;
STRICT_SPREAD of three bundles lands on three distinct members and a fourth bundle makes it
pending; tasks and actors given a bundle index run on that bundle's member, index -1 on one of
the group's; tasks on other members find the group (by name, in the table, through
get_current_placement_group for a child's bundle index) and remove one; PACK that fits one member stays on one, PACK that does not spreads; STRICT_PACK goes
to the one member that can hold it (not the creator's); SPREAD uses every member; a GPU bundle
on c hands its GPU to its task; removal frees the resources on every member (its actor killed);
and when b is killed, a SPREAD group's bundle there is rescheduled onto another member (the task
that ran in it on b is retried there, and its actor restarted there) while a group that only b could hold turns RESCHEDULING
rather than staying CREATED.
"""
import os
import signal
import sys
import time

import ray
from ray.util.placement_group import (
    get_current_placement_group,
    get_placement_group,
    placement_group,
    placement_group_table,
    remove_placement_group,
)
from ray.util.scheduling_strategies import (
    NodeAffinitySchedulingStrategy,
    PlacementGroupSchedulingStrategy,
)

b_pid = int(sys.argv[1])
ray.init()
here = ray.get_runtime_context().get_node_id()
members = {n["NodeID"]: n for n in ray.nodes() if n["Alive"]}
assert len(members) == 3, members
b_node = [i for i, n in members.items() if "b" in n["Resources"]][0]
c_node = [i for i, n in members.items() if "GPU" in n["Resources"]][0]
assert len({here, b_node, c_node}) == 3, (here, b_node, c_node)


def until(condition, what, timeout=20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s: {what}")


def free(name="CPU"):
    return ray.available_resources().get(name, 0)


def where(pg):
    return placement_group_table(pg)["bundles_to_node_id"]


def bundle(pg, index):
    return PlacementGroupSchedulingStrategy(pg, placement_group_bundle_index=index)


@ray.remote(num_cpus=1)
def node_of():
    return ray.get_runtime_context().get_node_id()


@ray.remote(num_cpus=0.5, max_retries=2)
def slow_node_of(seconds):
    time.sleep(seconds)
    return ray.get_runtime_context().get_node_id()


@ray.remote(num_cpus=0, num_gpus=1)
def gpu_task():
    return ray.get_runtime_context().get_node_id(), ray.get_gpu_ids()


@ray.remote(num_cpus=1)
def child_in_bundle(index):
    # Runs on some member; its group lives on a: the handle's bundles are looked up there.
    pg = get_current_placement_group()
    return ray.get(node_of.options(scheduling_strategy=bundle(pg, index)).remote())


@ray.remote(num_cpus=0, resources={"b": 0.01})
def look_up_from_b(name):
    pg = get_placement_group(name)
    return ray.get_runtime_context().get_node_id(), where(pg), sorted(placement_group_table())


@ray.remote(num_cpus=0)
def remove_from_here(pg):
    remove_placement_group(pg)
    return ray.get_runtime_context().get_node_id()


@ray.remote(num_cpus=0)
class Submitter:
    def ping(self):
        return ray.get_runtime_context().get_node_id()

    def gpu_in(self, pg):
        return ray.get(gpu_task.options(scheduling_strategy=bundle(pg, 0)).remote())


@ray.remote(num_cpus=1)
class Sitter:
    def node(self):
        return ray.get_runtime_context().get_node_id()


# --- Two drivers on two members make their first groups: the ids differ, and each group's work
# runs in its own bundles (the other driver's group, detached, is found on b by name).
other = get_placement_group("other")
first = placement_group([{"CPU": 0.5}])
assert first.id != other.id, (first.id, other.id)
assert first.wait(30), placement_group_table(first)
assert ray.get(node_of.options(num_cpus=0.5, scheduling_strategy=bundle(first, 0)).remote(),
               timeout=60) == where(first)[0]
remove_placement_group(first)
remove_placement_group(other)
until(lambda: free() == 6, "every member's 6 CPUs free")

# --- STRICT_SPREAD: one bundle per member, each task on its bundle's member.
spread = placement_group([{"CPU": 1}] * 3, strategy="STRICT_SPREAD", name="spread3")
assert spread.wait(30), placement_group_table(spread)
nodes = where(spread)
assert sorted(nodes) == [0, 1, 2] and set(nodes.values()) == set(members), nodes
for i in range(3):
    got = ray.get([node_of.options(scheduling_strategy=bundle(spread, i)).remote()
                   for _ in range(2)], timeout=60)
    assert got == [nodes[i]] * 2, (i, got, nodes)
assert ray.get(node_of.options(scheduling_strategy=bundle(spread, -1)).remote(),
               timeout=60) in members
# From tasks on other members: a child placed by bundle index through get_current_placement_group,
# and the group found by name and in the table (asked of a, which keeps it).
assert ray.get(child_in_bundle.options(scheduling_strategy=bundle(spread, 2)).remote(0),
               timeout=60) == nodes[0]
on, seen, table_ids = ray.get(look_up_from_b.remote("spread3"), timeout=60)
assert on == b_node and seen == nodes and spread.id.hex() in table_ids, (on, seen, table_ids)
sitter = Sitter.options(scheduling_strategy=bundle(spread, 2)).remote()
assert ray.get(sitter.node.remote(), timeout=60) == nodes[2]
until(lambda: free() == 3, "the group's three CPUs taken, one on each member")

# More bundles than members: pending, as in Ray.
four = placement_group([{"CPU": 0.1}] * 4, strategy="STRICT_SPREAD")
assert not four.wait(2), placement_group_table(four)
assert placement_group_table(four)["state"] == "PENDING"
remove_placement_group(four)

# --- Removal frees the bundles on every member and kills the group's actor.
remove_placement_group(spread)
until(lambda: free() == 6, "the three CPUs back, on every member")
try:
    ray.get(sitter.node.remote(), timeout=30)
    raise AssertionError("the removed group's actor must be dead")
except ray.exceptions.RayActorError:
    pass

# --- PACK: on one member when it fits, spread over several when it does not.
packed = placement_group([{"CPU": 1}, {"CPU": 1}], strategy="PACK")
assert packed.wait(30), placement_group_table(packed)
assert len(set(where(packed).values())) == 1, where(packed)
big = placement_group([{"CPU": 1}] * 3, strategy="PACK")
assert big.wait(30), placement_group_table(big)
big_nodes = where(big)
assert len(set(big_nodes.values())) >= 2, big_nodes
for i in range(3):
    assert ray.get(node_of.options(scheduling_strategy=bundle(big, i)).remote(),
                   timeout=60) == big_nodes[i], (i, big_nodes)
# Removed by a task on c: the removal reaches a, which keeps the group.
on_c = NodeAffinitySchedulingStrategy(c_node, soft=False)
assert ray.get(remove_from_here.options(scheduling_strategy=on_c).remote(packed),
               timeout=60) == c_node
assert placement_group_table(packed)["state"] == "REMOVED"
remove_placement_group(big)
until(lambda: free() == 6, "PACK groups' CPUs back")

# --- STRICT_PACK that only b can hold goes to b, not to the creator's member.
only_b = placement_group([{"CPU": 1}, {"b": 1}], strategy="STRICT_PACK")
assert only_b.wait(30), placement_group_table(only_b)
assert set(where(only_b).values()) == {b_node}, where(only_b)
assert ray.get(node_of.options(scheduling_strategy=bundle(only_b, 0)).remote(),
               timeout=60) == b_node

# --- A GPU bundle on c: its task gets the bundle's GPU there, also one submitted on b the moment
# the group is made (b learns of the bundle from c's next heartbeat, and places the task then).
submitter = Submitter.options(
    scheduling_strategy=NodeAffinitySchedulingStrategy(b_node, soft=False)).remote()
assert ray.get(submitter.ping.remote(), timeout=60) == b_node
gpu = placement_group([{"GPU": 1}], strategy="STRICT_PACK")
from_b = submitter.gpu_in.remote(gpu)
assert gpu.wait(30), placement_group_table(gpu)
assert where(gpu) == {0: c_node}, where(gpu)
assert ray.get(gpu_task.options(scheduling_strategy=bundle(gpu, 0)).remote(),
               timeout=60) == (c_node, [0])
assert ray.get(from_b, timeout=60) == (c_node, [0])
remove_placement_group(gpu)

# --- A member dies with bundles: SPREAD's bundle there is placed again on another member; the
# group only b could hold is RESCHEDULING, never CREATED with a bundle lost.
wide = placement_group([{"CPU": 0.5}] * 3, strategy="SPREAD")
assert wide.wait(30), placement_group_table(wide)
wide_nodes = where(wide)
assert set(wide_nodes.values()) == set(members), wide_nodes
lost = [i for i, n in wide_nodes.items() if n == b_node][0]
# An actor in the bundle on b, with a restart: restarted where the bundle is placed again.
keeper = Sitter.options(num_cpus=0, max_restarts=1, max_task_retries=1,
                        scheduling_strategy=bundle(wide, lost)).remote()
assert ray.get(keeper.node.remote(), timeout=60) == b_node
# A task running in the bundle on b when b dies: retried by its owner, in the bundle's new place.
running = slow_node_of.options(scheduling_strategy=bundle(wide, lost)).remote(4)
until(lambda: free(f"CPU_group_{lost}_{wide.id.hex()}") == 0, "the task in b's bundle started",
      timeout=30)
os.kill(b_pid, signal.SIGKILL)
until(lambda: placement_group_table(only_b)["state"] == "RESCHEDULING",
      "the group held on b rescheduling", timeout=30)
until(lambda: placement_group_table(wide)["state"] == "CREATED"
      and b_node not in where(wide).values() and len(where(wide)) == 3,
      "the SPREAD group's lost bundle placed again", timeout=30)
moved = where(wide)[lost]
assert moved in (here, c_node), where(wide)
assert ray.get(node_of.options(num_cpus=0.5, scheduling_strategy=bundle(wide, lost)).remote(),
               timeout=60) == moved
assert ray.get(running, timeout=60) == moved
assert ray.get(keeper.node.remote(), timeout=60) == moved
remove_placement_group(wide)
remove_placement_group(only_b)
until(lambda: free() == 4, "the two live members' CPUs back")
print("cluster placement groups ok")
