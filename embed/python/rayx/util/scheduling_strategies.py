"""Scheduling strategies, Ray's ``scheduling_strategy=`` option values.

A task or actor takes ``scheduling_strategy="DEFAULT"``, ``"SPREAD"``, or an instance of one
of the classes here. rayx runs one node, so every strategy places work on it: the option is
checked and kept, and placement is the same as with "DEFAULT".
"""

from __future__ import annotations

from typing import Any, Optional, Union

__all__ = [
    "DoesNotExist",
    "Exists",
    "In",
    "NodeAffinitySchedulingStrategy",
    "NodeLabelSchedulingStrategy",
    "NotIn",
    "PlacementGroupSchedulingStrategy",
    "SchedulingStrategyT",
]


class PlacementGroupSchedulingStrategy:
    """Places a task or actor in a placement group's bundle (Ray's signature).

    Args:
        placement_group: the placement group.
        placement_group_bundle_index: the bundle to use; -1 for any.
        placement_group_capture_child_tasks: whether the tasks this one submits go to the group
            too (None: the default, False).
    """

    def __init__(
        self,
        placement_group: Any,
        placement_group_bundle_index: int = -1,
        placement_group_capture_child_tasks: Optional[bool] = None,
    ):
        self.placement_group = placement_group
        self.placement_group_bundle_index = placement_group_bundle_index
        self.placement_group_capture_child_tasks = placement_group_capture_child_tasks


class NodeAffinitySchedulingStrategy:
    """Places a task or actor on the node with this id (Ray's signature).

    Args:
        node_id: the node's id, a hex string (as ``get_runtime_context().get_node_id()``
            returns) or an object with ``hex()``.
        soft: when True, another node may be used if this one is dead or full.
    """

    def __init__(
        self,
        node_id: Any,
        soft: bool,
        _spill_on_unavailable: bool = False,
        _fail_on_unavailable: bool = False,
    ):
        if not isinstance(node_id, str):
            node_id = node_id.hex()
        self.node_id = node_id
        self.soft = soft
        self._spill_on_unavailable = _spill_on_unavailable
        self._fail_on_unavailable = _fail_on_unavailable


class _LabelMatchExpressionOperator:
    def __init__(self, *values: str):
        self.values = list(values)


class In(_LabelMatchExpressionOperator):
    """A node label's value is one of these."""


class NotIn(_LabelMatchExpressionOperator):
    """A node label's value is none of these."""


class Exists:
    """The node has the label."""


class DoesNotExist:
    """The node lacks the label."""


class NodeLabelSchedulingStrategy:
    """Places a task or actor on nodes whose labels match ``hard`` (and preferably ``soft``).

    Args:
        hard: label name -> In(...), NotIn(...), Exists() or DoesNotExist().
        soft: the same, as a preference.

    Raises:
        ValueError: hard and soft are both empty.
    """

    def __init__(self, hard: dict, *, soft: Optional[dict] = None):
        self.hard = hard
        self.soft = soft or {}
        if not self.hard and not self.soft:
            raise ValueError(
                "The `hard` and `soft` parameter of NodeLabelSchedulingStrategy "
                "cannot both be empty."
            )


SchedulingStrategyT = Union[
    None,
    str,
    PlacementGroupSchedulingStrategy,
    NodeAffinitySchedulingStrategy,
    NodeLabelSchedulingStrategy,
]

_STRINGS = ("DEFAULT", "SPREAD")
_CLASSES = (PlacementGroupSchedulingStrategy, NodeAffinitySchedulingStrategy,
            NodeLabelSchedulingStrategy)


def check(name: str, value: Any) -> None:
    """Checks a ``scheduling_strategy`` option value (see `rayx._private.options`).

    Raises:
        ValueError: value is neither "DEFAULT", "SPREAD" nor an instance of the classes here.
    """
    if isinstance(value, str):
        if value in _STRINGS:
            return
    elif isinstance(value, _CLASSES):
        return
    raise ValueError(
        f"Invalid {name} value {value!r}. Valid values are [\"DEFAULT\", \"SPREAD\", "
        "PlacementGroupSchedulingStrategy, NodeAffinitySchedulingStrategy, "
        "NodeLabelSchedulingStrategy]."
    )


def placement(value: Any) -> Optional[tuple]:
    """What the engine takes for a checked ``scheduling_strategy`` value (see `check`).

    Returns None (the default placement), or ``(node_id bytes or None, soft, spread)``.
    Placement groups and label strategies are accepted and place nothing (yet).
    """
    if value == "SPREAD":
        return (None, False, True)
    if isinstance(value, NodeAffinitySchedulingStrategy):
        try:
            node = bytes.fromhex(value.node_id)
        except ValueError:
            raise ValueError(
                f"NodeAffinitySchedulingStrategy: {value.node_id!r} is not a node id "
                "(a hex string, as get_runtime_context().get_node_id() returns)"
            ) from None
        return (node, bool(value.soft), False)
    return None
