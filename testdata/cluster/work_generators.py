# Run by cluster_work_test.sh with a driver attached to node a (resource a, one CPU): a generator
# task runs on a, its caller's node, and streams; one that needs another member's resource fails
# at once (TaskUnschedulableError, naming generators) instead of waiting; a generator method of an
# actor that lives on b fails the same way, while its ordinary methods work.
import rayx

rayx.init()
a = [x["NodeID"] for x in rayx.nodes() if "a" in x["Resources"]][0]


@rayx.remote
def numbers(n):
    for i in range(n):
        yield (i, rayx.get_runtime_context().get_node_id())


values = [rayx.get(r, timeout=30) for r in numbers.remote(5)]
assert [v for v, _ in values] == list(range(5)), values
assert {node for _, node in values} == {a}, values


def fails_unschedulable(gen, what):
    refs = list(gen)
    assert len(refs) == 1, (what, refs)
    try:
        rayx.get(refs[0], timeout=30)
    except rayx.exceptions.TaskUnschedulableError as e:
        assert "generator" in str(e), (what, str(e))
        return
    raise AssertionError(f"{what} must fail with TaskUnschedulableError")


fails_unschedulable(numbers.options(resources={"b": 1}).remote(3), "a task needing b")


@rayx.remote(resources={"b": 1})
class OnB:
    def numbers(self, n):
        yield from range(n)

    def where(self):
        return rayx.get_runtime_context().get_node_id()


actor = OnB.remote()
b = rayx.get(actor.where.remote(), timeout=30)
assert b != a
fails_unschedulable(actor.numbers.remote(3), "a generator method of an actor on b")
assert rayx.get(actor.where.remote(), timeout=30) == b
print("generators ok")
