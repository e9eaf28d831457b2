"""`ray.util`: utilities built on the core API, under Ray's names.

What is here: `ActorPool` (a fixed set of actors sharing work), `queue.Queue` (a FIFO queue
held by an actor), `multiprocessing.Pool` (Python's ``multiprocessing.Pool`` API over actors),
placement groups (`placement_group` and the names beside it, from the module of that name),
`scheduling_strategies`, `accelerators` (accelerator type names), `get_node_ip_address`,
`inspect_serializability`, `list_named_actors`, and custom serializers (`register_serializer`,
`deregister_serializer`, from `serialization`). Everything is ordinary Python over `rayx.remote`,
actors, `get`, `wait` and `put` (list_named_actors asks the node); the submodules load on first
use.
"""

from __future__ import annotations

from typing import Any, Optional

from rayx._private import not_supported
from rayx.util.actor_pool import ActorPool
from rayx.util.check_serialize import inspect_serializability
from rayx.util.named_actors import list_named_actors
from rayx.util.serialization import deregister_serializer, register_serializer
# As in Ray: these names bind over the submodule's own name, ray.util.placement_group.
from rayx.util.placement_group import (
    PlacementGroup,
    get_current_placement_group,
    get_placement_group,
    placement_group,
    placement_group_table,
    remove_placement_group,
)

__all__ = [
    "ActorPool", "PlacementGroup", "deregister_serializer", "get_current_placement_group",
    "get_node_ip_address", "get_placement_group", "inspect_serializability", "list_named_actors",
    "placement_group", "placement_group_table", "register_serializer", "remove_placement_group",
]


def __getattr__(name: str) -> Any:
    # Ray's names that rayx lacks raise NotImplementedError (rayx._private.not_supported).
    return not_supported.refuse_name("ray.util", name, not_supported.NAMES_OF_RAY_UTIL)


def get_node_ip_address(address: str = "8.8.8.8:53") -> str:
    """Returns the IP address of this node: the machine's address towards ``address``.

    As in Ray, this opens a UDP socket "towards" address (nothing is sent) and reads the local
    address the kernel picked; without a route it falls back to the address of the host name,
    then to 127.0.0.1.
    """
    import socket  # Here, not at import: it is rarely needed, and slow to load.

    host, _, port = address.rpartition(":")
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect((host, int(port)))
            ip = s.getsockname()[0]
            if ip and ip != "0.0.0.0":
                return ip
    except (OSError, ValueError):
        pass
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"
