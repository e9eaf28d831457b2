"""ray._private.internal_api.memory_summary: the node's objects as a table, as ``ray memory`` shows.

The figures come from the node: its object table's entries (``_rayx.list_objects``) and its store's
totals (``_rayx.object_store_stats``). rayx reports only what the node knows of each object: its
size, where its value is, and what holds it (a process's reference, a task or get that pins it, a
process that maps it, another object that contains it). It knows no call sites and no process ids.
"""
import datetime
from typing import List, Optional

import _rayx

GROUP_BY = ("NODE_ADDRESS", "STACK_TRACE")
SORT_BY = ("PID", "OBJECT_SIZE", "REFERENCE_TYPE")
UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9}
MIB = 1 << 20

# The node's states of a value (engine/objects/object_entry_info.h), as Ray's Status column says.
_STATUS = {
    "PENDING": "PENDING",
    "INLINE": "FINISHED",
    "IN_MEMORY": "FINISHED",
    "SPILLED": "SPILLED",
    "REMOTE": "REMOTE",
    "ERROR": "ERROR",
    "LOST": "LOST",
}


def _reference_type(holders: int, pins: int, mappings: int, contained_in: int) -> str:
    """Ray's reference type that the node's counts of an object amount to."""
    if holders:
        return "LOCAL_REFERENCE"
    if pins:
        return "USED_BY_PENDING_TASK"
    if mappings:
        return "PINNED_IN_MEMORY"
    if contained_in:
        return "CAPTURED_IN_OBJECT"
    return "UNKNOWN_STATUS"


def _check(group_by: str, sort_by: str, units: str) -> None:
    if group_by not in GROUP_BY:
        raise ValueError(f"{group_by!r} is not a valid GroupByType (one of {', '.join(GROUP_BY)})")
    if sort_by not in SORT_BY:
        raise ValueError(f"{sort_by!r} is not a valid SortingType (one of {', '.join(SORT_BY)})")
    if units not in UNITS:
        raise ValueError(f"{units!r} is not a valid Unit (one of {', '.join(UNITS)})")


def _size(size: int, units: str) -> str:
    return f"{size / UNITS[units]} {units}"


def store_stats_text(stats: dict) -> str:
    """The aggregate part of Ray's summary, from object_store_stats' figures."""
    used, capacity = stats["used"], stats["capacity"]
    full = 100.0 * used / capacity if capacity else 0.0
    text = (
        "--- Aggregate object store stats across all nodes ---\n"
        f"Plasma memory usage {used // MIB} MiB, {stats['num_in_memory']} objects, "
        f"{round(full, 2)}% full, {round(max(full - 100.0, 0.0), 2)}% needed\n"
    )
    if stats["spill_count"]:
        text += (
            f"Spilled {stats['spill_bytes_total'] // MIB} MiB, {stats['spill_count']} objects\n"
        )
    if stats["restore_count"]:
        text += (
            f"Restored {stats['restore_bytes_total'] // MIB} MiB, "
            f"{stats['restore_count']} objects\n"
        )
    return text


def memory_summary(
    address: Optional[str] = None,
    group_by: str = "NODE_ADDRESS",
    sort_by: str = "OBJECT_SIZE",
    units: str = "B",
    line_wrap: bool = True,
    stats_only: bool = False,
    num_entries: Optional[int] = None,
) -> str:
    """Returns the node's objects and its store's figures as text, as ``ray memory`` prints them.

    address is accepted and ignored (the summary is of the node this process is connected to).
    group_by STACK_TRACE groups every object under one call site, which rayx does not record.
    sort_by PID sorts by object id (rayx knows no process ids). line_wrap is accepted; rows are
    never wrapped.

    Raises:
        ValueError: group_by, sort_by or units is not one Ray knows.
    """
    del address, line_wrap
    _check(group_by, sort_by, units)
    from rayx._private import worker

    worker.auto_init()
    stats = worker.object_store_stats()
    if stats_only:
        return store_stats_text(stats)
    entries, truncated = _rayx.list_objects()
    rows = [
        (object_id.hex(), size, _reference_type(holders, pins, mappings, contained_in),
         _STATUS.get(state, state))
        for object_id, size, state, holders, pins, mappings, contained_in in entries
    ]
    if sort_by == "OBJECT_SIZE":
        rows.sort(key=lambda row: (-row[1], row[0]))
    elif sort_by == "REFERENCE_TYPE":
        rows.sort(key=lambda row: (row[2], row[0]))
    else:
        rows.sort(key=lambda row: row[0])
    shown = rows if num_entries is None else rows[: max(int(num_entries), 0)]
    group = "node address" if group_by == "NODE_ADDRESS" else "call site"
    key = _node_address() if group_by == "NODE_ADDRESS" else "disabled"
    lines: List[str] = [
        f"======== Object references status: {datetime.datetime.now()} ========",
        f"Grouping by {group}...        Sorting by {sort_by.lower().replace('_', ' ')}...        "
        f"Display {'all' if num_entries is None else num_entries} entries per group...",
        "",
        f"--- Summary for {group}: {key} ---",
        f"{'Mem Used by Objects':<22}{'Local References':<22}{'Used by task':<22}"
        f"{'Captured in Objects':<22}",
        "".join(
            f"{text:<22}"
            for text in [_size(sum(row[1] for row in rows), units)]
            + [_count(rows, kind, units)
               for kind in ("LOCAL_REFERENCE", "USED_BY_PENDING_TASK", "CAPTURED_IN_OBJECT")]
        ),
        "",
        f"--- Object references for {group}: {key} ---",
        f"{'Object Ref':<58}{'Size':<18}{'Reference Type':<24}{'Status':<10}",
    ]
    lines += [f"{ref:<58}{_size(size, units):<18}{kind:<24}{status:<10}"
              for ref, size, kind, status in shown]
    if truncated:
        lines.append(f"(the node left out {truncated} more objects)")
    lines += ["", ""]
    return "\n".join(line.rstrip() for line in lines) + store_stats_text(stats)


def _count(rows: list, kind: str, units: str) -> str:
    of_kind = [row[1] for row in rows if row[2] == kind]
    return f"{len(of_kind)}, ({_size(sum(of_kind), units)})"


def _node_address() -> str:
    from rayx.util import get_node_ip_address

    try:
        return get_node_ip_address()
    except OSError:
        return "127.0.0.1"
