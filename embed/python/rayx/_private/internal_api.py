"""Internal calls for rayx's own tests; not part of the Ray API."""
from typing import Iterable

import _rayx

from rayx.object_ref import ObjectRef


def drop_object_copies(refs: Iterable[ObjectRef]) -> int:
    """Drops every copy of the objects, as if the node that held them had died.

    The references stay valid: the next get, wait or task that needs a task's result re-runs the
    task that made it (within its retry budget); a ``put`` object raises ``ObjectLostError``.
    Returns how many of the objects had a copy to drop.
    """
    return _rayx.drop_object_copies([r.binary() for r in refs])


# Ray's internal_api functions rayx lacks, refused by name (not_supported.py's policy).
_NOT_YET = {
    "free": "objects cannot be freed before their references go; drop the references instead",
    "memory_summary": "there is no per-object memory report; `rayx status` shows each node's "
    "object store use",
}


def __getattr__(name: str):
    from rayx._private import not_supported

    return not_supported.refuse_name("ray._private.internal_api", name, _NOT_YET)
