"""End to end: placement group bundles with GPUs on one node, as Ray gives them.

Run by script_test.sh as `rayx run placement_group_gpus.py` on one node of 2 CPUs and 2 logical
GPUs: a bundle reserves GPU ids (the node's free GPUs drop), a task and an actor in a bundle see
that bundle's GPU in get_gpu_ids() and CUDA_VISIBLE_DEVICES, two bundles hold two different GPUs,
a task asking more GPUs than its bundle holds stays pending, a group asking more GPUs than the
node has stays pending, and removal gives the GPUs back.
"""
import os

import ray
from ray.util.placement_group import placement_group, placement_group_table, remove_placement_group
from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

ray.init(num_cpus=2, num_gpus=2)


def free(name):
    return ray.available_resources().get(name, 0)


def in_bundle(pg, index):
    return PlacementGroupSchedulingStrategy(pg, placement_group_bundle_index=index)


@ray.remote(num_cpus=0, num_gpus=1)
def gpus():
    return ray.get_gpu_ids(), os.environ.get("CUDA_VISIBLE_DEVICES")


@ray.remote(num_cpus=0, num_gpus=1)
class Holder:
    def gpus(self):
        return ray.get_gpu_ids(), os.environ.get("CUDA_VISIBLE_DEVICES")


assert free("GPU") == 2, ray.available_resources()

# --- Two bundles of one GPU each: both GPUs reserved, one per bundle.
pg = placement_group([{"GPU": 1}, {"GPU": 1}], strategy="PACK")
assert pg.wait(20), placement_group_table(pg)
assert free("GPU") == 0, ray.available_resources()
assert ray.cluster_resources()["GPU_group_" + pg.id.hex()] == 2, ray.cluster_resources()
first = ray.get(gpus.options(scheduling_strategy=in_bundle(pg, 0)).remote(), timeout=60)
second = ray.get(gpus.options(scheduling_strategy=in_bundle(pg, 1)).remote(), timeout=60)
assert len(first[0]) == 1 and len(second[0]) == 1, (first, second)
assert first[0] != second[0], (first, second)  # Each bundle holds a GPU of its own.
assert first[1] == str(first[0][0]) and second[1] == str(second[0][0]), (first, second)
# The same bundle gives the same GPU again.
assert ray.get(gpus.options(scheduling_strategy=in_bundle(pg, 1)).remote(), timeout=60) == second

# --- An actor in bundle 0 holds bundle 0's GPU for its life; index -1 then finds bundle 1's.
holder = Holder.options(scheduling_strategy=in_bundle(pg, 0)).remote()
assert ray.get(holder.gpus.remote(), timeout=60) == first
assert ray.get(gpus.options(scheduling_strategy=in_bundle(pg, -1)).remote(), timeout=60) == second

# --- More GPUs than the bundle holds: the task stays pending.
too_big = gpus.options(num_gpus=2, scheduling_strategy=in_bundle(pg, 1)).remote()
ready, _ = ray.wait([too_big], timeout=1.5)
assert not ready, "a task asking two GPUs of a one-GPU bundle must not run"

# --- A group asking more GPUs than are free waits; removing the first gives them back.
waiting = placement_group([{"GPU": 2, "CPU": 1}])
assert not waiting.wait(1), placement_group_table(waiting)
remove_placement_group(pg)
assert waiting.wait(20), placement_group_table(waiting)
assert free("GPU") == 0 and free("CPU") == 1, ray.available_resources()
both = ray.get(gpus.options(num_gpus=2, scheduling_strategy=in_bundle(waiting, 0)).remote(),
               timeout=60)
assert sorted(both[0]) == [0, 1] and both[1] in ("0,1", "1,0"), both
remove_placement_group(waiting)
assert free("GPU") == 2 and free("CPU") == 2, ray.available_resources()

# --- A fractional GPU bundle shares one GPU between two half-GPU tasks.
half = placement_group([{"GPU": 0.5}])
assert half.wait(20), placement_group_table(half)
halves = ray.get(gpus.options(num_gpus=0.25, scheduling_strategy=in_bundle(half, 0)).remote(),
                 timeout=60)
assert len(halves[0]) == 1, halves
remove_placement_group(half)
assert free("GPU") == 2, ray.available_resources()
print("placement group gpus: all checks held")
