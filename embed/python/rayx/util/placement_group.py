"""Placement groups (Ray's ``ray.util.placement_group``): bundles of resources reserved together.

A placement group reserves its bundles (dicts of resources) all at once or not at all; until it
can, it is pending and ``ready()`` does not resolve. Tasks and actors placed in it
(``scheduling_strategy=PlacementGroupSchedulingStrategy(pg, ...)`` or the legacy
``placement_group=`` options) run on what its bundles hold, and only on that: one that asks for
more than its bundle holds waits. Removing it kills its actors, fails its tasks that wait, cancels
those that run and gives its resources back.

How (as Ray does it): the node that reserves a group takes the bundles' resources from what it has
free and adds derived resources in their place, ``CPU_group_<i>_<id>`` for bundle i and
``CPU_group_<id>`` for the group (likewise for every resource, plus ``bundle_group_*`` markers);
work placed in the group asks for those names instead of ``CPU``, so the scheduler needs to know
nothing of groups (engine/sched/placement_group_resources.h). The node of the process that creates
the group decides which cluster member holds each bundle and reserves them there in two phases
(engine/node/placement_group_manager.h); a bundle's GPUs are reserved by id, and work in the bundle
is given those ids. See rayx's README for what differs from Ray.
"""

from __future__ import annotations

import hashlib
import numbers
import threading
from typing import Any, Dict, List, Optional, Union

import _rayx

from rayx._private import current, worker

__all__ = [
    "PlacementGroup",
    "PlacementGroupID",
    "get_current_placement_group",
    "get_placement_group",
    "placement_group",
    "placement_group_table",
    "remove_placement_group",
    "VALID_PLACEMENT_GROUP_STRATEGIES",
]

VALID_PLACEMENT_GROUP_STRATEGIES = {"PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD"}

_ID_SIZE = 18  # Ray's PlacementGroupID size (kPlacementGroupIdSize in the engine).
_OP_CREATE, _OP_REMOVE, _OP_GET, _OP_TABLE = 0, 1, 2, 3
_STATES = {0: "PENDING", 1: "CREATED", 2: "REMOVED", 3: "RESCHEDULING"}
_NODE_ID_SIZE = 16  # A NodeID's bytes.
# The sliver of the bundle_group_* markers every task in a group asks for (Ray's amount).
_BUNDLE_MARKER = 0.001


class PlacementGroupID:
    """A placement group's id: 18 bytes, shown as hex."""

    __slots__ = ("_binary",)

    def __init__(self, binary: bytes):
        if not isinstance(binary, bytes) or len(binary) != _ID_SIZE:
            raise ValueError(f"A placement group id has {_ID_SIZE} bytes, got {binary!r}.")
        self._binary = binary

    def binary(self) -> bytes:
        return self._binary

    def hex(self) -> str:
        return self._binary.hex()

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, PlacementGroupID) and other._binary == self._binary

    def __hash__(self) -> int:
        return hash(self._binary)

    def __repr__(self) -> str:
        return f"PlacementGroupID({self.hex()})"

    def __reduce__(self):
        return (PlacementGroupID, (self._binary,))


class PlacementGroup:
    """A handle to a placement group (Ray's class): its id and bundles.

    Create one with `placement_group`; handles can be passed to tasks and actors.
    """

    def __init__(self, id: PlacementGroupID, bundle_cache: Optional[List[Dict]] = None):
        self.id = id
        self.bundle_cache = bundle_cache
        self._ready_ref = None

    @property
    def bundle_specs(self) -> List[Dict]:
        """The bundles, as dicts of resource amounts (read from the node once)."""
        if self.bundle_cache is None:
            self.bundle_cache = _get_record(self.id.binary(), "")[4]
        return [dict(b) for b in self.bundle_cache]

    @property
    def bundle_count(self) -> int:
        """How many bundles the group has."""
        return len(self.bundle_specs)

    @property
    def is_empty(self) -> bool:
        return False

    def ready(self):
        """An ObjectRef that resolves (to this group) once its bundles are reserved.

        As in Ray, it is a task that takes no CPU placed in the group: it runs when the group is
        reserved, never while it is pending, and fails when the group is removed first.
        """
        from rayx.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        if self._ready_ref is None:
            self._ready_ref = _reservation_check().options(
                scheduling_strategy=PlacementGroupSchedulingStrategy(self)
            ).remote(self)
        return self._ready_ref

    def wait(self, timeout_seconds: Union[float, int] = 30) -> bool:
        """Waits up to timeout_seconds for the group to be reserved; True when it is."""
        import rayx

        ready, _ = rayx.wait([self.ready()], timeout=timeout_seconds)
        return bool(ready)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, PlacementGroup) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"PlacementGroup({self.id.hex()})"

    def __reduce__(self):
        return (PlacementGroup, (self.id, self.bundle_cache))


_check_function = None
_check_lock = threading.Lock()


def _reservation_check():
    global _check_function
    with _check_lock:
        if _check_function is None:
            import rayx

            def bundle_reservation_check(placement_group):
                return placement_group

            _check_function = rayx.remote(num_cpus=0, max_retries=0)(bundle_reservation_check)
        return _check_function


def _raise_refusal(answer: str, name: str = "") -> None:
    kind, _, message = answer.partition(": ")
    if kind == "NotImplemented":
        raise NotImplementedError(
            f"rayx does not support this placement group yet: {message} (see the API "
            "compatibility table in rayx's README)."
        )
    if kind == "NotFound" and name:
        raise ValueError(f"Failed to look up placement group with name: {name}")
    if kind in ("InvalidArgument", "NotFound"):
        raise ValueError(message)
    raise RuntimeError(f"placement group request failed: {answer}")


def _call(op: int, pg_id: bytes = b"", name: str = "", strategy: str = "",
          bundles: Optional[list] = None, detached: bool = False, lookup_name: str = "") -> list:
    worker.auto_init()
    answer = _rayx.placement_group_call(op, pg_id, name, strategy, bundles or [], detached)
    if isinstance(answer, str):
        _raise_refusal(answer, lookup_name)
    return answer


def _get_record(pg_id: bytes, name: str) -> tuple:
    return _call(_OP_GET, pg_id=pg_id, name=name, lookup_name=name)[0]


_id_lock = threading.Lock()
_id_task: Optional[bytes] = None
_id_counter = 0


def _next_id() -> bytes:
    """An id from the node the caller is attached to, the job, the calling task and how many
    groups it made before. Job ids are drawn per node, so two drivers attached to two members
    may share one: the node's id keeps their groups (and the derived resource names their
    bundles add on members, which the whole cluster sees) apart."""
    global _id_task, _id_counter
    context = _rayx.context()
    info = current.task()
    task = info.task_id if info is not None else (context.get("task_id") or b"")
    with _id_lock:
        if task != _id_task:
            _id_task, _id_counter = task, 0
        _id_counter += 1
        counter = _id_counter
    seed = (bytes(context.get("node_id") or b"") + bytes(context["job_id"]) + bytes(task) +
            counter.to_bytes(8, "little"))
    return hashlib.blake2b(seed, digest_size=_ID_SIZE).digest()


def _validate(bundles: Any, strategy: Any, lifetime: Any) -> List[Dict[str, float]]:
    if not isinstance(bundles, list):
        raise ValueError(f"The type of bundles must be list, got {bundles}")
    if not bundles:
        raise ValueError("The placement group `bundles` argument cannot contain an empty list")
    clean = []
    for bundle in bundles:
        if (not isinstance(bundle, dict) or not all(isinstance(k, str) for k in bundle)
                or not all(isinstance(v, numbers.Real) and not isinstance(v, bool)
                           for v in bundle.values())):
            raise ValueError(
                "Bundles must be a list of dictionaries mapping resource names to numbers, "
                f"got {bundles}"
            )
        if any(v < 0 for v in bundle.values()):
            raise ValueError(f"Bundles cannot have negative resource values. Bundles: {bundles}")
        if len(bundle) == 0 or all(v == 0 for v in bundle.values()):
            raise ValueError(
                "Bundles cannot be an empty dictionary or resources with only 0 values. "
                f"Bundles: {bundles}"
            )
        clean.append({k: float(v) for k, v in bundle.items() if v > 0})
    if strategy not in VALID_PLACEMENT_GROUP_STRATEGIES:
        raise ValueError(
            f"Invalid placement group strategy {strategy}. Supported strategies are: "
            f"{sorted(VALID_PLACEMENT_GROUP_STRATEGIES)}."
        )
    if lifetime not in (None, "detached"):
        raise ValueError(
            "Placement group `lifetime` argument must be either `None` or 'detached'. "
            f"Got {lifetime}."
        )
    return clean


def placement_group(
    bundles: List[Dict[str, float]],
    strategy: str = "PACK",
    name: str = "",
    lifetime: Optional[str] = None,
    _max_cpu_fraction_per_node: float = 1.0,
    _soft_target_node_id: Optional[str] = None,
    bundle_label_selector: Optional[List[Dict[str, str]]] = None,
) -> PlacementGroup:
    """Asynchronously creates a placement group (Ray's signature); returns its handle at once.

    Args:
        bundles: the bundles, each a dict of resource name to amount (e.g. ``{"CPU": 1}``).
        strategy: "PACK", "SPREAD", "STRICT_PACK" or "STRICT_SPREAD".
        name: a name for `get_placement_group` ("" for none).
        lifetime: None (removed when its creating driver exits) or "detached".

    Raises:
        ValueError: bad bundles, strategy, lifetime, or a name already taken.
        NotImplementedError: bundle_label_selector and _soft_target_node_id.
    """
    clean = _validate(bundles, strategy, lifetime)
    if not isinstance(name, str):
        raise ValueError(f"The placement group name must be a string, got {name!r}")
    if bundle_label_selector:
        raise NotImplementedError(
            "rayx does not support bundle_label_selector yet: rayx nodes have no labels (see "
            "the API compatibility table in rayx's README)."
        )
    if _soft_target_node_id is not None:
        raise NotImplementedError(
            "rayx does not support _soft_target_node_id yet (see rayx's README)."
        )
    worker.auto_init()
    pg_id = _next_id()
    _call(_OP_CREATE, pg_id=pg_id, name=name, strategy=strategy, bundles=clean,
          detached=lifetime == "detached")
    return PlacementGroup(PlacementGroupID(pg_id), bundle_cache=clean)


def remove_placement_group(placement_group: PlacementGroup) -> None:
    """Removes the group: kills its actors, fails its waiting tasks, frees its resources."""
    if not isinstance(placement_group, PlacementGroup):
        raise TypeError(f"remove_placement_group takes a PlacementGroup, got {placement_group!r}")
    _call(_OP_REMOVE, pg_id=placement_group.id.binary())


def get_placement_group(placement_group_name: str) -> PlacementGroup:
    """The live placement group of this name.

    Raises:
        ValueError: there is none.
    """
    if not isinstance(placement_group_name, str) or not placement_group_name:
        raise ValueError(
            "Please supply a non-empty value to get_placement_group, got "
            f"{placement_group_name!r}"
        )
    record = _get_record(b"", placement_group_name)
    return PlacementGroup(PlacementGroupID(record[0]), bundle_cache=record[4])


def _bundle_nodes(raw: bytes, count: int) -> Dict[int, str]:
    """Bundle index to the hex id of the node that holds it, for the bundles that one holds."""
    nodes = {}
    for i in range(min(count, len(raw) // _NODE_ID_SIZE)):
        node = raw[i * _NODE_ID_SIZE:(i + 1) * _NODE_ID_SIZE]
        if any(node):
            nodes[i] = node.hex()
    return nodes


def _table_entry(record: tuple) -> dict:
    pg_id, name, strategy, state, bundles, bundle_nodes, _detached = record
    return {
        "placement_group_id": pg_id.hex(),
        "name": name,
        "bundles": {i: dict(b) for i, b in enumerate(bundles)},
        "bundles_to_node_id": _bundle_nodes(bundle_nodes, len(bundles)),
        "strategy": strategy,
        "state": _STATES.get(state, "PENDING"),
        "stats": {},
    }


def placement_group_table(placement_group: Optional[PlacementGroup] = None) -> dict:
    """The state of one group, or of every group (keyed by id hex), as Ray's table gives it."""
    if placement_group is not None:
        return _table_entry(_get_record(placement_group.id.binary(), ""))
    return {record[0].hex(): _table_entry(record) for record in _call(_OP_TABLE)}


def get_current_placement_group() -> Optional[PlacementGroup]:
    """The group the calling task or actor runs in; None in a driver or outside any group."""
    group = current.placement_group()
    if group is None:
        return None
    return PlacementGroup(PlacementGroupID(group[0]))


def check_bundle_index(placement_group: PlacementGroup, index: int) -> None:
    """ValueError unless index is -1 or names one of the group's bundles (Ray's check)."""
    if isinstance(index, bool) or not isinstance(index, int):
        raise ValueError(f"placement_group_bundle_index must be an integer, got {index!r}")
    count = placement_group.bundle_count
    if index < -1 or index >= count:
        raise ValueError(
            f"placement_group_bundle_index must be -1 or in [0, {count}) for a placement group "
            f"of {count} bundles, got {index}"
        )


def bundle_demand(resources: Dict[str, float], pg_hex: str, index: int) -> Dict[str, float]:
    """What a task or actor needing resources asks for in bundle index (-1: any) of the group."""
    demand: Dict[str, float] = {}
    for name, amount in resources.items():
        if index >= 0:
            demand[f"{name}_group_{index}_{pg_hex}"] = amount
        demand[f"{name}_group_{pg_hex}"] = amount
    if index >= 0:
        demand[f"bundle_group_{index}_{pg_hex}"] = _BUNDLE_MARKER
    demand[f"bundle_group_{pg_hex}"] = _BUNDLE_MARKER
    return demand


def resolve(options: dict) -> Optional[tuple]:
    """The group a task's or actor's options place it in: ``(pg, bundle_index, capture)``.

    None when they name no group (``placement_group="default"`` and no group strategy, which lets
    a child be captured by its parent's group: see `capturable`).

    Raises:
        ValueError: both a group strategy and the legacy option, or a bad bundle index.
    """
    from rayx.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    strategy = options.get("scheduling_strategy")
    legacy = options.get("placement_group")
    if isinstance(strategy, PlacementGroupSchedulingStrategy):
        if legacy not in (None, "default"):
            raise ValueError(
                "Scheduling strategy and placement_group cannot be set at the same time: use "
                "PlacementGroupSchedulingStrategy alone."
            )
        group = strategy.placement_group
        index = strategy.placement_group_bundle_index
        capture = strategy.placement_group_capture_child_tasks
    elif isinstance(legacy, PlacementGroup):
        if strategy not in (None, "DEFAULT"):
            raise ValueError(
                "Scheduling strategy and placement_group cannot be set at the same time."
            )
        group = legacy
        index = options.get("placement_group_bundle_index")
        capture = options.get("placement_group_capture_child_tasks")
    else:
        return None
    if group is None:
        return None
    if not isinstance(group, PlacementGroup):
        raise ValueError(f"placement_group must be a PlacementGroup, got {group!r}")
    index = -1 if index is None else index
    if index != -1:  # -1 needs no bundle count (which a handle may have to ask the node for).
        check_bundle_index(group, index)
    return group, index, bool(capture)


def capturable(options: dict) -> bool:
    """True when the options leave the group to the parent: with capture_child_tasks, a child
    with these options runs in its parent's group (Ray's rule)."""
    return options.get("scheduling_strategy") is None and options.get("placement_group") in (
        None, "default")
