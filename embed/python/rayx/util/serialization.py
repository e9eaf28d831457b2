"""`ray.util.serialization`: custom serializers for classes, as Ray's serialization guide has them.

``register_serializer(cls, serializer=..., deserializer=...)`` makes this process serialize every
instance of exactly ``cls`` (not of its subclasses) as ``deserializer(serializer(obj))``: the
serializer runs here, when the instance is put, passed as an argument or returned by a task, and
the deserializer is pickled into the value beside what the serializer made (by value, as
cloudpickle pickles a function of ``__main__``), so whichever process reads the value rebuilds the
instance without registering anything. As in Ray, serializers are managed locally for each worker:
a registration in the driver does not reach what a task serializes in its worker (the task
registers its own), and ``deregister_serializer`` undoes it in this process only.
Registering again replaces the earlier serializer at once.

A registration lasts for the process, across ``init`` and ``shutdown``. The classes that pickle
handles itself, without consulting any serializer (``int``, ``str``, ``list``, ``dict`` and the
other builtin types, and functions and classes), and rayx's own ``ObjectRef`` and actor handles
(whose pickling tells the engine about the references inside a value) are refused with TypeError.
"""

from __future__ import annotations

import types
from typing import Any, Callable

from rayx._private import serialization

__all__ = ["register_serializer", "deregister_serializer"]

# Types the pickler saves by itself (their dispatch-table entry is never read), and those rayx
# serializes itself in the common case without a pickler (serialization._PLAIN_TYPES).
_NATIVE_TYPES = frozenset({
    type(None), bool, int, float, complex, str, bytes, bytearray, tuple, list, dict, set,
    frozenset, type, types.FunctionType, types.BuiltinFunctionType,
}) | serialization._PLAIN_TYPES


def _rayx_own_types() -> tuple:
    # Imported here: rayx.actor imports rayx.util's neighbours at its own import.
    from rayx.actor import ActorHandle
    from rayx.object_ref import ObjectRef
    from rayx.object_ref_generator import ObjectRefGenerator

    return (ObjectRef, ObjectRefGenerator, ActorHandle)


def _check_class(cls: Any) -> None:
    if not isinstance(cls, type):
        raise TypeError(f"register_serializer needs a class, not {type(cls).__name__} {cls!r}.")
    if cls in _NATIVE_TYPES:
        raise TypeError(
            f"rayx cannot use a custom serializer for {cls.__name__}: pickle saves it by itself "
            "and never consults one (wrap the value in a class of your own)."
        )
    if issubclass(cls, _rayx_own_types()):
        raise TypeError(
            f"rayx cannot use a custom serializer for {cls.__name__}: its pickling tells rayx "
            "which references a value holds."
        )


def register_serializer(cls: type, *, serializer: Callable, deserializer: Callable) -> None:
    """Serializes instances of exactly ``cls`` with ``serializer`` in this process from now on.

    Args:
        cls: the class whose instances get the custom serialization.
        serializer: turns an instance into a serializable value (a dict of plain values, say).
        deserializer: rebuilds an instance from what serializer returned; it must be
            serializable itself, since it travels with the value.

    Raises:
        TypeError: cls is not a class, or is one rayx cannot serialize customly (see the module
            docstring); serializer or deserializer is not callable.
    """
    _check_class(cls)
    if not callable(serializer) or not callable(deserializer):
        raise TypeError("register_serializer needs a callable serializer and deserializer.")

    def reduce(obj: Any) -> tuple:
        return deserializer, (serializer(obj),)

    serialization.register_reducer(cls, reduce)


def deregister_serializer(cls: type) -> None:
    """Stops serializing ``cls`` with the serializer registered for it in this process.

    There is no effect when cls has none (as in Ray).
    """
    serialization.unregister_reducer(cls)
