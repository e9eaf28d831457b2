"""What the calling code runs: its task (name, function, resources) and, in an actor, the actor.

A worker sets these as it starts each task or actor call; `rayx.runtime_context` reads them. An
actor's call is a context variable, so that each thread of a threaded actor and each asyncio task
of an async actor sees its own call; a plain task is a module global (plain_task), one per worker;
the actor is the process's (an actor's worker serves one actor).
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple, Optional

__all__ = [
    "TaskInfo", "ActorInfo", "set_task", "task", "actor", "set_actor", "function_name",
    "placement_group", "set_placement_group", "inherited_place",
]


class TaskInfo(NamedTuple):
    """The task or actor call running now (a tuple: set once per task, it must be cheap)."""

    task_id: bytes
    name: str
    function: Optional[Callable]  # The function or method it runs, once loaded.
    resources: dict  # What it holds (shared: copy before handing it out).


@dataclass(frozen=True)
class ActorInfo:
    """The actor whose worker this is."""

    actor_id: bytes
    name: str  # "" when not named.
    namespace: str
    meta: dict  # What a handle needs (rayx.actor.class_meta).
    resources: dict  # What the actor holds while it lives.
    restarted: bool  # This is a restart: the constructor ran before in another worker.


_task: contextvars.ContextVar[Optional[TaskInfo]] = contextvars.ContextVar(
    "rayx_task", default=None
)
_actor: Optional[ActorInfo] = None
# The placement group the running task or the actor is in: (group id bytes, capture child tasks),
# or None. Set per task by the worker (one task at a time), for good in an actor's worker.
_placement_group: Optional[tuple] = None
# The group id while child tasks are captured (_placement_group[1] is True), else None: what
# remote calls check on their fast path.
capture_group: Optional[bytes] = None
# The runtime_env the running task or the actor passes on to the tasks and actors it submits
# beyond the job's (rayx._private.runtime_env.child_place): a place (working_dir, py_modules,
# env_vars), or None when it runs with the job's alone. Set by the worker; None in a driver.
inherited_place: Optional[dict] = None


def set_task(task_id: bytes, name: str, function: Optional[Callable], resources: dict) -> None:
    """The calling thread (or asyncio task) now runs this task."""
    _task.set(TaskInfo(task_id, name, function, resources))


# The task a task worker (not an actor's) runs: (task_id, name, function, resources), stored as a
# plain tuple once per task, which costs a fraction of setting the context variable, and read into
# a TaskInfo only when asked. Such a worker runs one task at a time, so one value serves every
# thread of it. The context variable, which actors' calls set, comes first.
plain_task: Optional[tuple] = None


def task() -> Optional[TaskInfo]:
    """The task the calling code runs, or None (a driver, or a worker between tasks)."""
    info = _task.get()
    if info is None and plain_task is not None:
        return TaskInfo._make(plain_task)
    return info


def set_actor(info: ActorInfo) -> None:
    """This worker is now the given actor's."""
    global _actor
    _actor = info


def actor() -> Optional[ActorInfo]:
    """The actor of this worker, or None outside an actor."""
    return _actor


def set_placement_group(group: Optional[tuple]) -> None:
    """The calling task or actor now runs in this group ((id, capture) or None)."""
    global _placement_group, capture_group
    _placement_group = group
    capture_group = group[0] if group is not None and group[1] else None


def placement_group() -> Optional[tuple]:
    """(group id bytes, capture child tasks) of the running task or actor, or None."""
    return _placement_group


def function_name(function: Any) -> Optional[str]:
    """``module.qualname`` of a task's function, as Ray's get_task_function_name gives it."""
    if function is None:
        return None
    module = getattr(function, "__module__", None) or ""
    qualname = getattr(function, "__qualname__", None) or getattr(function, "__name__", "")
    return f"{module}.{qualname}" if module else qualname
