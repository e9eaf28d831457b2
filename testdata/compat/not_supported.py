"""End to end: what rayx lacks of Ray's API is refused by name, never with an AttributeError.

Run by script_test.sh as `rayx run not_supported.py`. Names of `ray` and `ray.util` raise
NotImplementedError; Ray's libraries and the modules rayx lacks raise ImportError saying why.
"""
import importlib

import ray
import rayx

assert ray is rayx


def raises(error, call, *fragments):
    try:
        call()
    except error as e:
        for fragment in fragments:
            assert fragment in str(e), (fragment, str(e))
        return
    raise AssertionError(f"{call} did not raise {error.__name__}")


# Names: NotImplementedError that names the API and says why.
assert ray.ObjectRefGenerator is not None and ray.DynamicObjectRefGenerator is not None
raises(NotImplementedError, lambda: ray.java_function, "ray.java_function", "Python only")
# ray.util's names are all there now (list_named_actors and the custom serializers are checked
# in testdata/compat/named_actors.py and serializers.py).
from ray.util import deregister_serializer, list_named_actors, register_serializer  # noqa: E402
from ray.util.serialization import register_serializer as from_module  # noqa: E402

assert from_module is register_serializer and callable(list_named_actors)
assert callable(deregister_serializer)
# Ray's internal free and memory_summary are there (testdata/compat/free.py, memory_summary.py).
import ray._private.internal_api as internal_api  # noqa: E402

assert callable(internal_api.free)
assert callable(internal_api.memory_summary)
raises(AttributeError, lambda: internal_api.no_such_name)
# Placement groups are supported (testdata/compat/placement_groups.py); the driver is in none.
assert callable(ray.util.placement_group)
assert ray.util.get_current_placement_group() is None

# Generators are supported (testdata/compat/generators.py); a bad num_returns is a ValueError.
ray.remote(num_returns="streaming")
ray.remote(num_returns="dynamic")
raises(ValueError, lambda: ray.remote(num_returns="dinamic"), "num_returns")

# A name Ray does not have either is still an AttributeError; hasattr works for those.
raises(AttributeError, lambda: ray.no_such_thing)
assert not hasattr(ray.util, "no_such_thing") and hasattr(ray.util, "ActorPool")

# Modules: ImportError (ModuleNotFoundError) that says why, under ray and rayx alike.
for module, why in [("ray.data", "Ray Core"), ("ray.train", "Ray Core"), ("ray.tune", "Ray Core"),
                    ("ray.serve", "Ray Core"), ("ray.rllib.algorithms", "Ray Core"),
                    ("rayx.data", "Ray Core"), ("ray.util.state", "state API"),
                    ("ray.util.collective", "collective")]:
    raises(ModuleNotFoundError, lambda: importlib.import_module(module),
           f"rayx does not support {module.replace('rayx.', 'ray.').split('.algorithms')[0]} yet",
           why)


def from_state_import():
    from ray.util.state import list_actors  # noqa: F401


raises(ImportError, from_state_import, "ray.util.state")
# What rayx has still imports.
importlib.import_module("ray.util.queue")
importlib.import_module("ray.util.scheduling_strategies")

print("not supported: all checks held")
