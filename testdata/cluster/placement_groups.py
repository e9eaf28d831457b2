"""Placement groups in a cluster (run by cluster_pg_test.sh, attached to member a; member b has
the resource "b"): a PACK group is reserved on a, the driver's member, and its tasks run there,
even one submitted by a task running on b; SPREAD and STRICT_SPREAD of several bundles raise
NotImplementedError while another member is alive; removal gives a's CPUs back."""
import ray
from ray.util.placement_group import placement_group, placement_group_table, remove_placement_group
from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

ray.init()
here = ray.get_runtime_context().get_node_id()


@ray.remote(num_cpus=1)
def node_of():
    return ray.get_runtime_context().get_node_id(), ray.get_runtime_context().get_placement_group_id()


@ray.remote(num_cpus=0, resources={"b": 1})
def from_b(pg):
    # On member b: a task placed in the group, which lives on a, goes there.
    me = ray.get_runtime_context().get_node_id()
    strategy = PlacementGroupSchedulingStrategy(pg, placement_group_bundle_index=1)
    return me, ray.get(node_of.options(scheduling_strategy=strategy).remote())


pg = placement_group([{"CPU": 1}, {"CPU": 1}], strategy="PACK")
assert pg.wait(20), placement_group_table(pg)
assert set(placement_group_table(pg)["bundles_to_node_id"].values()) == {here}
strategy = PlacementGroupSchedulingStrategy(pg, placement_group_bundle_index=0)
assert ray.get([node_of.options(scheduling_strategy=strategy).remote() for _ in range(4)],
               timeout=60) == [(here, pg.id.hex())] * 4
b_node, (child_node, child_pg) = ray.get(from_b.remote(pg), timeout=60)
assert b_node != here and child_node == here and child_pg == pg.id.hex(), (b_node, child_node)

for strategy_name in ("SPREAD", "STRICT_SPREAD"):
    try:
        placement_group([{"CPU": 0.1}, {"CPU": 0.1}], strategy=strategy_name)
        raise AssertionError(f"{strategy_name} of two bundles in a cluster must raise")
    except NotImplementedError as e:
        assert "not supported yet" in str(e), e
remove_placement_group(pg)  # a's two CPUs are free again for the next one.
one = placement_group([{"CPU": 0.1}], strategy="STRICT_SPREAD")  # One bundle: one node.
assert one.wait(20), placement_group_table(one)
remove_placement_group(one)
print("cluster placement groups ok")
