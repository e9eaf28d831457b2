"""`ray.util.list_named_actors`: the names of the live named actors, as Ray lists them.

The node answers from its own actors and, in a cluster, asks every other live member for theirs
(named actors are cluster-wide), so the list is the same from any member, from a driver and from
inside tasks and actors. Detached actors are listed; dead ones are not (an actor that is
restarting still is, as its name is still taken).
"""

from __future__ import annotations

from typing import Union

import _rayx

from rayx._private import worker

__all__ = ["list_named_actors"]


def list_named_actors(all_namespaces: bool = False) -> list[Union[str, dict]]:
    """Lists the live named actors (detached or not) of the current namespace, or of all.

    Args:
        all_namespaces: False (the default): the names, as strings, of the named actors in the
            current namespace (the job's, as get_actor uses). True: one dict
            ``{"name": ..., "namespace": ...}`` per named actor in any namespace. Taken for its
            truth value, as Ray does.

    Returns:
        Sorted by namespace, then name.
    """
    all_namespaces = bool(all_namespaces)
    worker.auto_init()
    found = _rayx.list_named_actors(worker.current_namespace(), all_namespaces)
    if all_namespaces:
        return [{"name": name, "namespace": ns} for ns, name in found]
    return [name for _, name in found]
