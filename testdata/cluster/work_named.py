# Run by cluster_named_test.sh: ray.util.list_named_actors across three members. `create`, with a
# driver attached to c: detached named actors on a, b and c (by their resources), listed from the
# driver, from a task on b and from an actor on a. `check`, with a driver attached to a: the same
# names from there, with all_namespaces too, and from a task on c; on-c, killed, is no longer
# listed. `dead`, with a driver attached to c once b was killed (kill -9): b's actor is not listed
# (nor is the listing held up by b), and on-a, killed, goes too.
import sys
import time

import rayx


def eventually(condition, what, timeout=30):
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@rayx.remote(num_cpus=0)
class Named:
    def names(self, all_namespaces=False):
        return rayx.util.list_named_actors(all_namespaces)

    def node(self):
        return rayx.get_runtime_context().get_node_id()


@rayx.remote(num_cpus=0)
def names_from(all_namespaces):
    return rayx.util.list_named_actors(all_namespaces), rayx.get_runtime_context().get_node_id()


rayx.init(namespace="listing")
nodes = {n: x["NodeID"] for x in rayx.nodes() if x["Alive"] for n in "abc" if n in x["Resources"]}
expected = ["on-a", "on-b", "on-c"]
if sys.argv[1] == "create":
    assert rayx.util.list_named_actors() == [], rayx.util.list_named_actors()
    actors = {n: Named.options(name=f"on-{n}", lifetime="detached", resources={n: 0.1}).remote()
              for n in "abc"}
    for n, actor in actors.items():  # Each lives where its resource is.
        assert rayx.get(actor.node.remote(), timeout=30) == nodes[n]
    assert rayx.util.list_named_actors() == expected, rayx.util.list_named_actors()
    names, where = rayx.get(names_from.options(resources={"b": 0.1}).remote(False), timeout=30)
    assert (names, where) == (expected, nodes["b"]), (names, where)
    assert rayx.get(actors["a"].names.remote(), timeout=30) == expected
    print("named create ok")
elif sys.argv[1] == "check":
    assert rayx.util.list_named_actors() == expected, rayx.util.list_named_actors()
    mine = [d for d in rayx.util.list_named_actors(all_namespaces=True)
            if d["namespace"] == "listing"]
    assert mine == [{"name": n, "namespace": "listing"} for n in expected], mine
    names, where = rayx.get(names_from.options(resources={"c": 0.1}).remote(True), timeout=30)
    assert where == nodes["c"] and [d for d in names if d["namespace"] == "listing"] == mine
    rayx.kill(rayx.get_actor("on-c"))
    eventually(lambda: rayx.util.list_named_actors() == ["on-a", "on-b"], "on-c to go")
    print("named check ok")
else:
    eventually(lambda: rayx.util.list_named_actors() == ["on-a"], "b's on-b to go with b")
    rayx.kill(rayx.get_actor("on-a"))
    eventually(lambda: rayx.util.list_named_actors() == [], "on-a to go")
    print("named dead ok")
