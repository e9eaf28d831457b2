"""`ObjectRef`: a reference to a value in the object store, held by this process.

Each ObjectRef counts as one reference to its object in this process: it calls
``_rayx.add_ref`` when it is created and ``_rayx.remove_ref`` when it is garbage collected, and the
engine frees the object when no process holds a reference (and no task or value needs it).
An ObjectRef pickled inside a value stays an ObjectRef (with the same id) where it is unpickled.
"""

from __future__ import annotations

from typing import Any

import _rayx

from rayx._private import serialization

__all__ = ["ObjectRef"]


class ObjectRef:
    """A reference to an object (a task's return value or a put value).

    ObjectRefs are hashable and compare equal when they name the same object. Pass them to
    `rayx.get` to read the value, or to other tasks as arguments: a top-level argument is
    resolved to its value before the task runs; a reference nested in a container is passed
    as a reference.
    """

    __slots__ = ("_id", "_counted", "__weakref__")

    def __init__(self, object_id: bytes):
        """Wraps an object id (``bytes``) and takes a reference to it in this process."""
        if type(object_id) is not bytes and not isinstance(object_id, bytes):
            raise TypeError(f"ObjectRef needs an id of type bytes, not {type(object_id).__name__}")
        self._id = object_id
        # _counted is set only once add_ref has succeeded (__del__ tolerates its absence).
        _add_ref(object_id)
        self._counted = True

    def binary(self) -> bytes:
        """Returns the object id as bytes."""
        return self._id

    def hex(self) -> str:
        """Returns the object id as a hexadecimal string."""
        return self._id.hex()

    def __hash__(self) -> int:
        return hash(self._id)

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, ObjectRef):
            return NotImplemented
        return self._id == other._id

    def __ne__(self, other: Any) -> bool:
        if not isinstance(other, ObjectRef):
            return NotImplemented
        return self._id != other._id

    def __repr__(self) -> str:
        return f"ObjectRef({self._id.hex()})"

    def __reduce__(self):
        serialization.record_contained(self._id)
        return (_rebuild, (self._id,))

    def __copy__(self) -> "ObjectRef":
        return ObjectRef(self._id)

    def __deepcopy__(self, memo: dict) -> "ObjectRef":
        return ObjectRef(self._id)

    def as_future(self) -> Any:
        """Returns an asyncio future of the value, resolved off the event loop's thread."""
        import asyncio

        from rayx._private import worker

        return asyncio.get_running_loop().run_in_executor(None, worker.get, self)

    def future(self) -> Any:
        """Returns a concurrent.futures.Future of the value."""
        import concurrent.futures
        import threading

        from rayx._private import worker

        result: concurrent.futures.Future = concurrent.futures.Future()

        def resolve() -> None:
            try:
                result.set_result(worker.get(self))
            except BaseException as e:
                result.set_exception(e)

        threading.Thread(target=resolve, daemon=True).start()
        return result

    def __await__(self) -> Any:
        return self.as_future().__await__()

    def __del__(self) -> None:
        # May run during interpreter shutdown (module globals already None) or after the
        # engine is gone: dropping a reference must never raise from here.
        try:
            if self._counted:
                _remove_ref(self._id)
        except BaseException:
            pass


_add_ref = _rayx.add_ref
_remove_ref = _rayx.remove_ref


def _rebuild(object_id: bytes) -> ObjectRef:
    """Unpickles an ObjectRef (a module-level function so that pickle finds it by name)."""
    return ObjectRef(object_id)
