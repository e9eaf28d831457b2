"""End to end: namespaces, as Ray's "Using Namespaces" guide describes them.

Run by script_test.sh as `rayx run namespaces.py`. This driver's job is in namespace "colors";
its named actors live there, get_actor looks there, and so do its tasks and actors. Two more
drivers attach to this driver's node in subprocesses: one given no namespace (an anonymous one of
its own, which sees none of this job's actors unless it names "colors"), one in "colors".
"""
import subprocess
import sys

import rayx


def raises(error, call, *words):
    try:
        call()
    except error as e:
        for word in words:
            assert word in str(e), (word, str(e))
        return str(e)
    raise AssertionError(f"{call} did not raise {error.__name__}")


info = rayx.init(num_cpus=2, namespace="colors")
assert rayx.get_runtime_context().namespace == "colors"
assert rayx.get_runtime_context().get()["namespace"] == "colors"


@rayx.remote
class Actor:
    def __init__(self, value):
        self.value = value

    def get(self):
        return self.value

    def namespace(self):
        return rayx.get_runtime_context().namespace

    def lookup(self, name, namespace=None):
        return rayx.get(rayx.get_actor(name, namespace=namespace).get.remote())


# A named actor given no namespace lives in the job's; a name is unique within a namespace only.
orange = Actor.options(name="orange").remote("colors' orange")
fruit = Actor.options(name="orange", namespace="fruits").remote("fruits' orange")
assert rayx.get(rayx.get_actor("orange").get.remote()) == "colors' orange"
assert rayx.get(rayx.get_actor("orange", namespace="colors").get.remote()) == "colors' orange"
assert rayx.get(rayx.get_actor("orange", namespace="fruits").get.remote()) == "fruits' orange"
raises(ValueError, lambda: rayx.get_actor("orange", namespace="vegetables"))
raises(ValueError, lambda: Actor.options(name="orange").remote(0), "orange", "colors")
same = Actor.options(name="orange", namespace="fruits", get_if_exists=True).remote(0)
assert rayx.get(same.get.remote()) == "fruits' orange"
# Ray's checks of a namespace: a string, not empty.
raises(ValueError, lambda: rayx.get_actor("orange", namespace=""), "not a valid namespace")
raises(TypeError, lambda: rayx.get_actor("orange", namespace=3), "namespace")
raises(ValueError, lambda: Actor.options(name="x", namespace=""), "not a valid namespace")


# Tasks and actors work in their job's namespace: its names, and what they name.
@rayx.remote
def in_task(dependency=None):
    ctx = rayx.get_runtime_context()
    found = rayx.get(rayx.get_actor("orange").get.remote())
    Actor.options(name="made in a task", lifetime="detached", get_if_exists=True).remote(
        "from a task")
    return ctx.namespace, found


# Directly to a leased worker (no ref argument), and through the node (a ref argument).
for result in rayx.get([in_task.remote(), in_task.remote(rayx.put(1))]):
    assert result == ("colors", "colors' orange"), result
assert rayx.get(rayx.get_actor("made in a task").get.remote()) == "from a task"
assert rayx.get(orange.namespace.remote()) == "colors"
# An actor created in another namespace still works for its job: it looks names up in "colors".
helper = Actor.options(name="helper", namespace="fruits").remote("helper")
assert rayx.get(helper.namespace.remote()) == "colors"
assert rayx.get(helper.lookup.remote("orange")) == "colors' orange"
assert rayx.get(helper.lookup.remote("orange", "fruits")) == "fruits' orange"

# Another driver given no namespace: an anonymous namespace of its own.
anonymous = f"""
import rayx
rayx.init(address={info['address']!r})
ns = rayx.get_runtime_context().namespace
assert ns != "colors" and len(ns) == 36, ns
try:
    rayx.get_actor("orange")
    raise AssertionError("an actor of another job's namespace was found without naming it")
except ValueError:
    pass
assert rayx.get(rayx.get_actor("orange", namespace="colors").get.remote()) == "colors' orange"


@rayx.remote
class Kiwi:
    def get(self):
        return "kiwi"


Kiwi.options(name="kiwi", lifetime="detached").remote()
assert rayx.get(rayx.get_actor("kiwi").get.remote()) == "kiwi"
print("namespace:" + ns)
"""
out = subprocess.run([sys.executable, "-c", anonymous], capture_output=True, text=True, timeout=120)
assert out.returncode == 0, out.stdout + out.stderr
other = [line for line in out.stdout.splitlines() if line.startswith("namespace:")][0]
other = other.split(":", 1)[1]
raises(ValueError, lambda: rayx.get_actor("kiwi"))  # Detached, but in the other job's namespace.
assert rayx.get(rayx.get_actor("kiwi", namespace=other).get.remote()) == "kiwi"

# A driver that joins "colors" sees its actors by name.
joined = f"""
import rayx
rayx.init(address={info['address']!r}, namespace="colors")
assert rayx.get(rayx.get_actor("orange").get.remote()) == "colors' orange"
assert rayx.get(rayx.get_actor("made in a task").get.remote()) == "from a task"
print("joined ok")
"""
out = subprocess.run([sys.executable, "-c", joined], capture_output=True, text=True, timeout=120)
assert out.returncode == 0 and "joined ok" in out.stdout, out.stdout + out.stderr

raises(TypeError, lambda: rayx.init(namespace=3, ignore_reinit_error=True), "namespace")
rayx.shutdown()
raises(ValueError, lambda: rayx.init(namespace=""), "not a valid namespace")
print("namespaces: all checks held")
