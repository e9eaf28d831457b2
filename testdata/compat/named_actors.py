"""End to end: ray.util.list_named_actors, as Ray documents it.

Run by script_test.sh as `rayx run named_actors.py`. The names of the live named actors of the
current namespace, as strings; with all_namespaces=True a dict of name and namespace for every
named actor of any namespace. Detached actors are listed, unnamed ones are not, and an actor is
no longer listed once it is dead (killed, or out of scope). It answers the same in a task and in
an actor, which work in their job's namespace, and a second driver in another namespace sees its
own names only, unless it asks for all.
"""
import subprocess
import sys
import time

import ray


def eventually(condition, what, timeout=30):
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@ray.remote
class Named:
    def ping(self):
        return "pong"

    def names(self, all_namespaces=False):
        return ray.util.list_named_actors(all_namespaces)


@ray.remote
def names_in_task(all_namespaces):
    return ray.util.list_named_actors(all_namespaces=all_namespaces)


info = ray.init(num_cpus=2, namespace="listing")
assert ray.util.list_named_actors() == []
assert ray.util.list_named_actors(all_namespaces=True) == []

beta = Named.options(name="beta").remote()
alpha = Named.options(name="alpha").remote()
kept = Named.options(name="kept", lifetime="detached").remote()
elsewhere = Named.options(name="alpha", namespace="elsewhere").remote()
unnamed = Named.remote()
# Listed as soon as created (a name is taken from the creation on), sorted.
assert ray.util.list_named_actors() == ["alpha", "beta", "kept"], ray.util.list_named_actors()
ray.get([a.ping.remote() for a in (alpha, beta, kept, elsewhere, unnamed)])
everything = ray.util.list_named_actors(all_namespaces=True)
assert everything == [
    {"name": "alpha", "namespace": "elsewhere"},
    {"name": "alpha", "namespace": "listing"},
    {"name": "beta", "namespace": "listing"},
    {"name": "kept", "namespace": "listing"},
], everything
assert all(isinstance(name, str) for name in ray.util.list_named_actors())

# In a task and in an actor: the job's namespace, the same answer.
assert ray.get(names_in_task.remote(False)) == ["alpha", "beta", "kept"]
assert ray.get(names_in_task.remote(True)) == everything
assert ray.get(alpha.names.remote()) == ["alpha", "beta", "kept"]
assert ray.get(elsewhere.names.remote()) == ["alpha", "beta", "kept"]  # Its job's namespace.
assert ray.get(beta.names.remote(True)) == everything

# Another driver, in a namespace of its own: its names only, unless it asks for all.
other = """
import ray
ray.init(address=sys_address, namespace="second")
ray.get(ray.remote(lambda: 0).remote())
mine = ray.remote(lambda: 0)
@ray.remote
class A:
    def ping(self):
        return 1
a = A.options(name="second-actor").remote()
ray.get(a.ping.remote())
print("mine", ray.util.list_named_actors())
print("all", sorted(d["namespace"] + "/" + d["name"] for d in ray.util.list_named_actors(True)))
"""
# The second driver attaches to this driver's node (rayx.init(address=)).
out = subprocess.run(
    [sys.executable, "-c", "sys_address = %r\n" % info["address"] + other],
    capture_output=True, text=True, timeout=120,
)
assert out.returncode == 0, out.stdout + out.stderr
assert "mine ['second-actor']" in out.stdout, out.stdout
assert ("all ['elsewhere/alpha', 'listing/alpha', 'listing/beta', 'listing/kept', "
        "'second/second-actor']") in out.stdout, out.stdout
# Its non-detached actor died with it.
eventually(lambda: {"name": "second-actor", "namespace": "second"}
           not in ray.util.list_named_actors(True), "the second driver's actor to go")

# Dead actors are not listed: killed, or out of scope.
ray.kill(beta)
eventually(lambda: ray.util.list_named_actors() == ["alpha", "kept"], "beta to be unlisted")
del alpha
eventually(lambda: ray.util.list_named_actors() == ["kept"], "alpha to be unlisted")
# A detached actor stays listed without a handle, until it is killed.
del kept
time.sleep(0.3)
assert ray.util.list_named_actors() == ["kept"]
ray.kill(ray.get_actor("kept"))
eventually(lambda: ray.util.list_named_actors() == [], "kept to be unlisted")
# Its name can be taken again, and the new actor is listed.
again = Named.options(name="kept").remote()
assert ray.util.list_named_actors() == ["kept"]
assert ray.util.list_named_actors(all_namespaces=1) == [
    {"name": "alpha", "namespace": "elsewhere"}, {"name": "kept", "namespace": "listing"}]

# get_or_create: the named actor if it lives, else a new one made with the arguments given.
@ray.remote
class Keeper:
    def __init__(self, value):
        self.value = value

    def get(self):
        return self.value


first = Keeper.options(name="keeper", namespace="goc").get_or_create(1)
assert ray.get(first.get.remote()) == 1
same = Keeper.options(name="keeper", namespace="goc").get_or_create(2)
assert ray.get(same.get.remote()) == 1 and same == first
try:
    Keeper.options(namespace="goc").get_or_create(3)
    raise AssertionError("get_or_create without a name did not raise")
except ValueError as e:
    assert "name must be specified" in str(e), e
print("named actors: all checks held")
