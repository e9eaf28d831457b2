"""End to end: rayx.get_runtime_context() in a driver, tasks, and sync, threaded and async actors.

Run by script_test.sh as `rayx run runtime_context.py`; every answer is checked against what the
program knows (its own handles, names and options), and what rayx cannot answer must raise
NotImplementedError.
"""
import asyncio
import os

import rayx

rayx.init(num_cpus=2, resources={"custom": 2})
ctx = rayx.get_runtime_context()
job_id = ctx.get_job_id()


def raises(error, call):
    try:
        call()
    except error as e:
        return str(e)
    raise AssertionError(f"{call} did not raise {error.__name__}")


# The driver: no task, no actor, an anonymous namespace of the job's own (a uuid, as in Ray;
# testdata/compat/namespaces.py checks namespaces themselves).
assert len(job_id) == 8 and len(ctx.get_node_id()) == 32 and len(ctx.get_worker_id()) == 32
assert ctx.get_task_id() is None and ctx.get_task_name() is None
assert ctx.get_task_function_name() is None
assert ctx.get_actor_id() is None and ctx.get_actor_name() is None
namespace = ctx.namespace
assert len(namespace) == 36 and namespace.count("-") == 4, namespace
assert ctx.get() == {"job_id": job_id, "node_id": ctx.get_node_id(), "namespace": namespace}
assert ctx.get_placement_group_id() is None
assert ctx.should_capture_child_tasks_in_placement_group is False
raises(RuntimeError, lambda: ctx.current_actor)
raises(RuntimeError, lambda: ctx.was_current_actor_reconstructed)
raises(RuntimeError, ctx.get_assigned_resources)
for unsupported in (ctx.get_node_labels, ctx.get_runtime_env_string, lambda: ctx.gcs_address,
                    lambda: ctx.runtime_env, lambda: ctx.get_some_future_api()):
    message = raises(NotImplementedError, unsupported)
    assert message.startswith("rayx does not support RuntimeContext."), message


@rayx.remote
def about_task(*_refs):
    c = rayx.get_runtime_context()
    return {
        "job": c.get_job_id(),
        "task": c.get_task_id(),
        "name": c.get_task_name(),
        "function": c.get_task_function_name(),
        "actor": c.get_actor_id(),
        "actor_name": c.get_actor_name(),
        "resources": c.get_assigned_resources(),
        "get": c.get(),
    }


@rayx.remote
def reconstructed_in_task():
    try:
        rayx.get_runtime_context().was_current_actor_reconstructed
    except RuntimeError:
        return "RuntimeError"


# Tasks: the name (default or given), the function, what they hold, on both submission paths (a
# ref argument sends a task through the node, none sends it straight to a leased worker).
a, b = rayx.get([about_task.remote(), about_task.remote(rayx.put(1))])
for info in (a, b):
    assert info["job"] == job_id
    assert info["name"] == "about_task", info
    assert info["function"] == "__main__.about_task", info
    assert info["actor"] is None and info["actor_name"] is None
    assert info["resources"] == {"CPU": 1.0}, info
    assert info["get"] == {"job_id": job_id, "node_id": ctx.get_node_id(), "namespace": namespace,
                           "task_id": info["task"]}
assert a["task"] != b["task"] and len(a["task"]) == 32
custom = rayx.get(
    about_task.options(name="custom name", num_cpus=0.5, resources={"custom": 1}).remote()
)
assert custom["name"] == "custom name" and custom["resources"] == {"CPU": 0.5, "custom": 1.0}
assert rayx.get(about_task.options(num_cpus=0).remote())["resources"] == {}
# Through the node (an argument that is a ref), shapes that change from task to task on the same
# workers: the node leaves out a task's resources when they are its worker's last task's.
shapes = [1, 0.5, 1, 1, 0, 0, 1, 0.5, 0.5, 1] * 3
arg = rayx.put(1)
infos = rayx.get([about_task.options(num_cpus=n).remote(arg) for n in shapes])
for n, info in zip(shapes, infos):
    assert info["resources"] == ({"CPU": float(n)} if n else {}), (n, info)
assert rayx.get(reconstructed_in_task.remote()) == "RuntimeError"


class ProbeBase:
    def about(self):
        c = rayx.get_runtime_context()
        return {
            "actor": c.get_actor_id(),
            "actor_name": c.get_actor_name(),
            "name": c.get_task_name(),
            "function": c.get_task_function_name(),
            "task": c.get_task_id(),
            "resources": c.get_assigned_resources(),
            "reconstructed": c.was_current_actor_reconstructed,
        }

    def me(self):
        return rayx.get_runtime_context().current_actor

    def ping(self):
        return "pong"

    def die(self):
        os._exit(1)


@rayx.remote
class Probe(ProbeBase):
    pass


@rayx.remote(max_concurrency=2)
class ThreadedProbe(ProbeBase):
    pass


@rayx.remote
class AsyncProbe:
    async def about(self):
        await asyncio.sleep(0)
        c = rayx.get_runtime_context()
        return c.get_task_name(), c.get_actor_id(), c.get_task_id()


plain = Probe.remote()
named = Probe.options(name="the probe", num_cpus=1).remote()
threaded = ThreadedProbe.remote()
aio = AsyncProbe.remote()

info = rayx.get(plain.about.remote())
assert info["actor"] == plain._actor_id.hex(), info
assert info["actor_name"] == "" and info["name"] == "Probe.about", info
assert info["function"] == "__main__.ProbeBase.about", info
assert info["resources"] == {} and info["reconstructed"] is False, info
info2 = rayx.get(plain.about.options(name="renamed").remote())
assert info2["name"] == "renamed" and info2["task"] != info["task"]

info = rayx.get(named.about.remote())
assert info["actor"] == named._actor_id.hex() and info["actor_name"] == "the probe", info
assert info["resources"] == {"CPU": 1.0}, info

# Each thread of a threaded actor and each asyncio task of an async one sees its own call.
infos = rayx.get([threaded.about.remote() for _ in range(6)])
assert {i["actor"] for i in infos} == {threaded._actor_id.hex()}
assert len({i["task"] for i in infos}) == 6 and {i["name"] for i in infos} == {"ThreadedProbe.about"}
answers = rayx.get([aio.about.remote() for _ in range(6)])
assert {(n, a) for n, a, _ in answers} == {("AsyncProbe.about", aio._actor_id.hex())}, answers
assert len({t for _, _, t in answers}) == 6

# current_actor: a handle of the actor itself, usable anywhere.
me = rayx.get(plain.me.remote())
assert me == plain and rayx.get(me.ping.remote()) == "pong"

# was_current_actor_reconstructed: False until the actor is restarted, True after.
phoenix = Probe.options(max_restarts=1).remote()
assert rayx.get(phoenix.about.remote())["reconstructed"] is False
try:
    rayx.get(phoenix.die.remote())
except rayx.exceptions.RayActorError:
    pass
after = rayx.get(phoenix.about.remote(), timeout=60)
assert after["reconstructed"] is True and after["actor"] == phoenix._actor_id.hex(), after

print("runtime context: all checks held")
