"""End to end: Ray's options that rayx maps or accepts as no-ops, and those it refuses by name.

Run by script_test.sh as `rayx run options.py`: memory= as a logical resource (a node's total is
the memory available, less the object store, as in Ray), accelerator_type=, runtime_env's
env_vars for a task, an actor and a whole job, the silent no-ops, and NotImplementedError for
what rayx cannot do.
"""
import os
import time
import warnings

import rayx

os.environ.pop("RAYX_JOB_VAR", None)
rayx.init(num_cpus=2, runtime_env={"env_vars": {"RAYX_JOB_VAR": "job"}})


def raises(error, call, *fragments):
    try:
        call()
    except error as e:
        for fragment in fragments:
            assert fragment in str(e), (fragment, str(e))
        return
    raise AssertionError(f"{call} did not raise {error.__name__}")


@rayx.remote
def env(name):
    return os.environ.get(name)


# The memory resource by default: what is available now, less the object store.
memory = rayx.cluster_resources().get("memory", 0)
assert memory > 10 * 2**20, rayx.cluster_resources()
assert rayx.get(env.options(memory=2**20).remote("RAYX_JOB_VAR")) == "job"  # init's env_vars.
rayx.shutdown()

os.environ["RAYX_BASE"] = "base"  # Workers start with the driver's environment.
rayx.init(num_cpus=2, resources={"memory": 1000, "accelerator_type:T4": 1})
assert rayx.cluster_resources()["memory"] == 1000


@rayx.remote(memory=600)
def hold_memory():
    start = time.time()
    time.sleep(0.3)
    return start, time.time(), rayx.get_runtime_context().get_assigned_resources()


# Two tasks of 600 of 1000 never run at once, though two CPUs are free.
(s1, e1, assigned), (s2, e2, _) = rayx.get([hold_memory.remote(), hold_memory.remote()])
assert e1 <= s2 or e2 <= s1, "two tasks of memory=600 ran at once on a node with 1000"
assert assigned == {"CPU": 1.0, "memory": 600.0}, assigned


@rayx.remote(memory=600)
class Holder:
    def __init__(self):
        self.seen = os.environ.get("RAYX_ACTOR_VAR")

    def var(self):
        return self.seen, os.environ.get("RAYX_ACTOR_VAR")


# An actor holds its memory while it lives.
holder = Holder.options(runtime_env={"env_vars": {"RAYX_ACTOR_VAR": "actor"}}).remote()
assert rayx.get(holder.var.remote()) == ("actor", "actor")  # In its constructor and calls.
assert rayx.available_resources().get("memory") == 400, rayx.available_resources()
rayx.kill(holder)

# accelerator_type: a sliver of "accelerator_type:<type>", which only nodes that have it give.
on_t4 = env.options(accelerator_type="T4").remote("X")
assert rayx.get(on_t4) is None
ready, _ = rayx.wait([env.options(accelerator_type="A100").remote("X")], timeout=0.5)
assert ready == [], "a task needing an A100 ran on a node without one"

# runtime_env env_vars: set for the task's run, with ${NAME} (the worker's) expanded, and gone
# after it.
with_env = env.options(runtime_env={"env_vars": {"RAYX_TASK_VAR": "task-${RAYX_BASE}"}})
assert rayx.get(with_env.remote("RAYX_TASK_VAR")) == "task-base"
assert rayx.get([env.remote("RAYX_TASK_VAR") for _ in range(20)]) == [None] * 20
raises(NotImplementedError, lambda: env.options(runtime_env={"pip": ["requests"]}),
       "rayx does not support runtime_env key 'pip' yet")
raises(NotImplementedError, lambda: env.options(runtime_env={"working_dir": "s3://b/d.zip"}),
       "working_dir")  # A local one is applied: testdata/compat/runtime_env_dirs.py.
raises(TypeError, lambda: env.options(runtime_env={"env_vars": {"A": 1}}), "env_vars")

# No-ops, as they are here: accepted without a word.
with warnings.catch_warnings():
    warnings.simplefilter("error")
    quiet = env.options(_metadata={"lib": 1}, enable_task_events=False, placement_group="default",
                        label_selector={})
    assert rayx.get(quiet.remote("RAYX_BASE")) == "base"
raises(NotImplementedError, lambda: env.options(label_selector={"zone": "a"}), "label_selector")
raises(ValueError, lambda: env.options(placement_group=object()), "placement_group")
# The node's limit on a task's returns (kMaxNumReturns), refused here before anything is sent.
raises(ValueError, lambda: env.options(num_returns=65537), "num_returns", "65536")
assert len(env.options(num_returns=3).remote("X")) == 3

print("options: all checks held")
