"""End to end: custom serializers (ray.util.register_serializer), as Ray's serialization guide
describes them.

Run by script_test.sh as `rayx run serializers.py`. A class whose instances cannot be pickled (it
holds a lock) can be put, passed to tasks and actors and returned once a serializer is registered
for it; the deserializer travels with the value, so a worker that registered nothing reads it;
serializers are managed locally for each process (a task's return is not covered by the driver's
registration until the task registers its own); registering again replaces the serializer, and
deregistering (twice is fine) brings the error back. Only the exact class is covered.
"""
import threading

import numpy as np
import ray
import rayx
from ray.util.serialization import deregister_serializer as deregister_from_module


def raises(error, call, *words):
    try:
        call()
    except error as e:
        for word in words:
            assert word in str(e), (word, str(e))
        return e
    raise AssertionError(f"{call} did not raise {error.__name__}")


class Holder:
    """Not picklable as it is: it holds a lock (the guide's example)."""

    def __init__(self, value):
        self.value = value
        self.lock = threading.Lock()


class SubHolder(Holder):
    pass


serialized = []


def holder_serializer(holder):
    serialized.append(holder.value)
    return {"value": holder.value}


def holder_deserializer(state):
    rebuilt = Holder(state["value"])
    rebuilt.rebuilt = True
    return rebuilt


ray.init(num_cpus=2)
assert ray.util.deregister_serializer is deregister_from_module

# Before: a put of the instance fails, as pickle refuses the lock.
raises(TypeError, lambda: ray.put(Holder(1)), "lock")
quiet = open("/dev/null", "w")
assert not ray.util.inspect_serializability(Holder(1), print_file=quiet)[0]

ray.util.register_serializer(Holder, serializer=holder_serializer, deserializer=holder_deserializer)
assert ray.util.inspect_serializability(Holder(1), print_file=quiet)[0]  # It says so too.
serialized.clear()
back = ray.get(ray.put(Holder(1)))
assert isinstance(back, Holder) and back.value == 1 and back.rebuilt, vars(back)
assert serialized == [1], serialized
# Nested in containers, and with a numpy array in what the serializer makes (out of band).
nested = ray.get(ray.put({"items": [Holder(2), Holder(3)], "n": 4}))
assert [h.value for h in nested["items"]] == [2, 3] and nested["n"] == 4
big = ray.get(ray.put(Holder(np.arange(300_000))))
assert big.value.sum() == np.arange(300_000).sum() and not big.value.flags.writeable


@ray.remote
def read(holder):
    """Reads a Holder it was passed; this worker registered no serializer."""
    return holder.value, getattr(holder, "rebuilt", False)


@ray.remote
def make(value, register):
    """Returns a Holder: only a worker that registered a serializer can."""
    if register:
        ray.util.register_serializer(
            Holder, serializer=lambda h: h.value, deserializer=lambda v: Holder(v * 10)
        )
    return Holder(value)


# As an argument, inline and put (large), and by reference: the deserializer came with it.
assert ray.get(read.remote(Holder(5))) == (5, True)
assert ray.get(read.remote(Holder(np.ones(200_000))))[0].sum() == 200_000
assert ray.get(read.remote(ray.put(Holder(6)))) == (6, True)
# Managed locally for each worker: a task's return needs the task's own registration.
raises(ray.exceptions.RayTaskError, lambda: ray.get(make.remote(7, False)), "lock")
made = ray.get(make.remote(7, True))
assert isinstance(made, Holder) and made.value == 70, vars(made)


@ray.remote
class Keeper:
    def __init__(self):
        ray.util.register_serializer(
            Holder, serializer=lambda h: h.value, deserializer=lambda v: Holder(-v)
        )
        self.kept = None

    def keep(self, holder):
        self.kept = holder
        return holder.value

    def give(self):
        return self.kept


keeper = Keeper.remote()
assert ray.get(keeper.keep.remote(Holder(8))) == 8  # The driver's serializer, read there.
assert ray.get(keeper.give.remote()).value == -8  # The actor's own serializer, read here.

# Only the exact class: a subclass's instance is pickled as before (and fails on its lock).
raises(TypeError, lambda: ray.put(SubHolder(9)), "lock")

# Registering again replaces the serializer at once.
ray.util.register_serializer(
    Holder, serializer=lambda h: [h.value], deserializer=lambda v: ("replaced", v)
)
assert ray.get(ray.put(Holder(10))) == ("replaced", [10])

# Deregistered: the error is back; deregistering again, or an unknown class, does nothing.
ray.util.deregister_serializer(Holder)
raises(TypeError, lambda: ray.put(Holder(11)), "lock")
ray.util.deregister_serializer(Holder)
ray.util.deregister_serializer(SubHolder)
# A value serialized while registered is still read after deregistering (the deserializer is in it).
ray.util.register_serializer(Holder, serializer=holder_serializer, deserializer=holder_deserializer)
kept = ray.put(Holder(12))
ray.util.deregister_serializer(Holder)
assert ray.get(kept).value == 12

# Plain values take the same path as before.
assert ray.get(ray.put(13)) == 13
assert ray.get(ray.put([1, "two", 3.0])) == [1, "two", 3.0]

# Bad input: a clear TypeError.
raises(TypeError, lambda: ray.util.register_serializer(
    "Holder", serializer=str, deserializer=str), "needs a class")
raises(TypeError, lambda: ray.util.register_serializer(
    int, serializer=str, deserializer=int), "int", "pickle saves it by itself")
raises(TypeError, lambda: ray.util.register_serializer(
    ray.ObjectRef, serializer=str, deserializer=str), "ObjectRef")
raises(TypeError, lambda: ray.util.register_serializer(
    Holder, serializer=None, deserializer=str), "callable")
assert rayx.util.register_serializer is ray.util.register_serializer
print("serializers: all checks held")
