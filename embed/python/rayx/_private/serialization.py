"""Values to and from the engine's serialized form: the triple ``(kind, data, buffers)``.

* Values are pickled with protocol 5 by cloudpickle, so functions, lambdas and classes defined in
  the driver's ``__main__`` travel by value. Out-of-band buffers (numpy arrays, PickleBuffer) are
  handed to the engine separately, which places large ones in shared memory; reading them back
  with ``pickle.loads(data, buffers=...)`` gives zero-copy, read-only arrays.
* An `ObjectRef` pickled inside a value stays an ObjectRef: its ``__reduce__`` records its id in
  the ``contained`` list of the serialization in progress (on this thread), and unpickling
  rebuilds an ObjectRef, which takes a reference.
* Error values (kinds TASK_ERROR and SYSTEM_ERROR) become `rayx.exceptions` instances.
* Custom serializers (`ray.util.register_serializer`) are this process's own: while any is
  registered, values are pickled by a pickler whose dispatch table holds them first, so that an
  instance of a registered class (its exact type) is pickled as its deserializer and what its
  serializer made of it; the deserializer travels inside the pickle (by value when cloudpickle
  must), so any process can read the value without registering anything. With none registered
  the pickling is exactly as before.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import threading
from collections import ChainMap
from typing import Any, Callable, NamedTuple, Optional, Sequence

import cloudpickle

from rayx import exceptions

VALUE = 0
TASK_ERROR = 1
SYSTEM_ERROR = 2

# Values up to this size travel inline in task specs; larger arguments are put first.
INLINE_THRESHOLD = 100 * 1024

# Exact types that plain pickle serializes as well as cloudpickle does, only faster.
_PLAIN_TYPES = frozenset({int, float, complex, str, bytes, bool, type(None)})

_local = threading.local()

# The custom reducers of this process (register_reducer), by exact class; empty mostly.
_custom_reducers: dict = {}


class _CustomPickler(cloudpickle.CloudPickler):
    """cloudpickle's pickler with this process's custom reducers first in its dispatch table.

    The C pickler reads ``dispatch_table`` when it is built, so the table is a class attribute,
    a live view over _custom_reducers: registrations take effect at the next serialization.
    """

    dispatch_table = ChainMap(_custom_reducers, cloudpickle.CloudPickler.dispatch_table)


def register_reducer(cls: type, reducer: Callable[[Any], tuple]) -> None:
    """Pickles instances of exactly cls as ``reducer(obj)`` says (a ``__reduce__`` tuple), in the
    values this process serializes from now on; replaces an earlier reducer of cls."""
    _custom_reducers[cls] = reducer


def unregister_reducer(cls: type) -> None:
    """Forgets cls's custom reducer; nothing happens when it has none."""
    _custom_reducers.pop(cls, None)


def _dumps_with_custom_reducers(value: Any, buffer_callback: Optional[Callable]) -> bytes:
    """Protocol-5 cloudpickle of value by _CustomPickler (serialize uses it while a custom
    reducer exists; without one it calls cloudpickle.dumps itself, one call less)."""
    with io.BytesIO() as file:
        _CustomPickler(file, protocol=5, buffer_callback=buffer_callback).dump(value)
        return file.getvalue()


class SerializedValue(NamedTuple):
    """A value ready for the engine: the pickle, its out-of-band buffers, the refs inside it."""

    data: bytes
    buffers: list
    contained: list

    def nbytes(self) -> int:
        """Returns the total size of the pickle and its buffers, in bytes."""
        return len(self.data) + sum(memoryview(b).nbytes for b in self.buffers)


def record_contained(object_id: bytes) -> None:
    """Notes that an ObjectRef with this id is being pickled by the serialization in progress.

    Called from ``ObjectRef.__reduce__``. Outside `serialize` (e.g. a user's own pickle.dumps)
    nothing is recorded.
    """
    contained = getattr(_local, "contained", None)
    if contained is not None:
        contained.append(object_id)


def serialize(value: Any, out_of_band: bool = True) -> SerializedValue:
    """Pickles value with protocol 5 (cloudpickle where plain pickle would not do).

    Args:
        value: any picklable value.
        out_of_band: when True, buffers that support it (numpy arrays) are returned apart from
            the pickle; when False everything is in the pickle bytes.

    Raises:
        Whatever pickling raises (TypeError, pickle.PicklingError, ...) for unpicklable values.
    """
    if type(value) in _PLAIN_TYPES:
        return SerializedValue(pickle.dumps(value, 5), [], [])
    buffers: list = []
    contained: list = []
    previous = getattr(_local, "contained", None)
    _local.contained = contained
    try:
        callback = buffers.append if out_of_band else None
        if _custom_reducers:
            data = _dumps_with_custom_reducers(value, callback)
        else:
            data = cloudpickle.dumps(value, protocol=5, buffer_callback=callback)
    finally:
        _local.contained = previous
    if len(contained) > 1:
        contained = list(dict.fromkeys(contained))
    return SerializedValue(data, buffers, contained)


def deserialize(kind: int, data: Any, buffers: Sequence = (), object_id: bytes = b"") -> Any:
    """Returns the value of a serialized triple, or raises the error it holds.

    Args:
        kind: VALUE, TASK_ERROR or SYSTEM_ERROR.
        data: the pickle (bytes or memoryview), or for SYSTEM_ERROR the text "CODE: message".
        buffers: the out-of-band buffers of a VALUE.
        object_id: the object's id, used in error messages.

    Raises:
        RayTaskError (also an instance of the original exception's class), or the
        `rayx.exceptions` class that matches a system error's code.
    """
    if kind == VALUE:
        return pickle.loads(data, buffers=buffers) if buffers else pickle.loads(data)
    raise error_of(kind, data, object_id)


def error_of(kind: int, data: Any, object_id: bytes = b"") -> exceptions.RayError:
    """Returns the exception that an error triple (TASK_ERROR or SYSTEM_ERROR) stands for."""
    object_hex = object_id.hex()
    if kind == SYSTEM_ERROR:
        text = data if isinstance(data, str) else bytes(data).decode("utf-8", "replace")
        return exceptions.from_system_error(text, object_hex)
    if kind == TASK_ERROR:
        try:
            err = pickle.loads(data)
        except Exception as e:  # The cause's class may not exist here.
            return exceptions.RaySystemError(f"could not deserialize a task's error: {e!r}")
        if isinstance(err, exceptions.RayTaskError):
            return err.as_instanceof_cause()
        if isinstance(err, exceptions.RayError):
            return err
        if isinstance(err, BaseException):
            return exceptions.RayTaskError("<unknown>", repr(err), err).as_instanceof_cause()
        return exceptions.RaySystemError(f"a task's error is not an exception: {err!r}")
    return exceptions.RaySystemError(f"unknown value kind {kind} in object {object_hex}")


def serialize_function(function: Callable) -> tuple[bytes, bytes]:
    """Pickles a function (by value where it must be) and returns ``(function_id, blob)``."""
    blob = cloudpickle.dumps(function, protocol=5)
    return hashlib.sha1(blob).digest(), blob


def deserialize_function(blob: bytes) -> Callable:
    """Rebuilds a function pickled by `serialize_function`."""
    return pickle.loads(blob)


def describe_unpicklable(value: Any) -> Optional[str]:
    """Returns why value cannot be serialized, or None when it can."""
    try:
        serialize(value)
    except Exception as e:  # Anything pickling may raise.
        return f"{type(e).__name__}: {e}"
    return None
