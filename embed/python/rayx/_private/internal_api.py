"""Ray's internal calls that rayx has (free, memory_summary), and rayx's own for its tests."""
import warnings
from typing import Iterable, List, Union

import _rayx

from rayx._private.memory_summary import memory_summary  # noqa: F401 (Ray's name, here)
from rayx.object_ref import ObjectRef


def drop_object_copies(refs: Iterable[ObjectRef]) -> int:
    """Drops every copy of the objects, as if the node that held them had died.

    The references stay valid: the next get, wait or task that needs a task's result re-runs the
    task that made it (within its retry budget); a ``put`` object raises ``ObjectLostError``.
    Returns how many of the objects had a copy to drop.
    """
    return _rayx.drop_object_copies([r.binary() for r in refs])


def free(object_refs: Union[ObjectRef, List[ObjectRef]], local_only: bool = False) -> None:
    """Frees the objects' values from the object store now, though references to them remain.

    As in Ray: their memory (and spill files) is released at once; a later ``ray.get`` of one
    raises ``ObjectFreedError`` and the task that made it is not run again; ``ray.wait`` counts it
    ready; a task that takes it as an argument fails with that error. An object whose task has
    not finished is freed at once: its task's value is dropped when it comes. rayx frees the
    values held by this node; ``local_only`` is accepted, and copies fetched from another member
    release that member's copy for this node (the member frees it when its own references go).

    Raises:
        TypeError: object_refs is neither an ObjectRef nor a list of them.
    """
    warnings.warn(
        "`ray._private.internal_api.free` is deprecated and will be removed in a future "
        "version of Ray. Use `del` on the object references instead.",
        DeprecationWarning,
        stacklevel=2,
    )
    if isinstance(object_refs, ObjectRef):
        object_refs = [object_refs]
    if not isinstance(object_refs, list):
        raise TypeError(
            "free() expects a list of ObjectRef, got {}".format(type(object_refs))
        )
    for ref in object_refs:
        if not isinstance(ref, ObjectRef):
            raise TypeError(
                "Attempting to call `free` on the value {}, which is not an ray.ObjectRef.".format(
                    ref
                )
            )
    if not object_refs:
        return
    from rayx._private import worker

    worker.auto_init()
    _rayx.free_objects([r.binary() for r in object_refs])


