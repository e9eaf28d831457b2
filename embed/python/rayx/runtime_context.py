"""`RuntimeContext`: who and where the calling code is (job, task, actor, node, worker).

Ray's `ray.runtime_context.RuntimeContext`, answered from what the process knows: the ids the node
gave it, and what its worker was told of the task or actor call it runs (rayx._private.current).
What rayx cannot answer truthfully (placement group labels, the GCS, runtime environments as
strings) raises NotImplementedError naming the API.
"""

from __future__ import annotations

from typing import Any, Optional

import _rayx

from rayx._private import current, worker

__all__ = ["RuntimeContext", "get_runtime_context"]


def _not_supported(what: str, why: str) -> NotImplementedError:
    return NotImplementedError(
        f"rayx does not support RuntimeContext.{what} yet: {why} (see the API compatibility "
        "table in rayx's README)."
    )


class RuntimeContext:
    """A view of the current process's context; ids are hex strings, as in Ray."""

    def _context(self) -> dict:
        worker.require_initialized("get_runtime_context")
        return _rayx.context()

    def _in_worker(self) -> bool:
        self._context()
        return worker.state.mode == worker.WORKER

    def get(self) -> dict:
        """Returns job_id, node_id and namespace, and in a worker task_id and actor_id when set.

        Deprecated in Ray in favour of the get_*_id() methods.
        """
        context: dict[str, Any] = {
            "job_id": self.get_job_id(),
            "node_id": self.get_node_id(),
            "namespace": self.namespace,
        }
        if self._in_worker():
            if self.get_task_id() is not None:
                context["task_id"] = self.get_task_id()
            if self.get_actor_id() is not None:
                context["actor_id"] = self.get_actor_id()
        return context

    def get_job_id(self) -> str:
        """Returns the current job's id (hex)."""
        return self._context()["job_id"].hex()

    def get_node_id(self) -> str:
        """Returns the id (hex) of the node this process belongs to."""
        return self._context()["node_id"].hex()

    def get_worker_id(self) -> str:
        """Returns this process's worker id (hex); the driver has one too."""
        return self._context()["worker_id"].hex()

    def get_task_id(self) -> Optional[str]:
        """Returns the id (hex) of the task or actor call running now; None in a driver."""
        task_id = self._context().get("task_id")
        if not task_id or worker.state.mode != worker.WORKER:
            return None
        info = current.task()  # An async actor's calls all run under its creation task.
        return (info.task_id if info is not None else task_id).hex()

    def get_task_name(self) -> Optional[str]:
        """Returns the running task's name: its ``name=`` option, else the function's name
        (``Class.method`` for an actor call, the class's for its constructor); None in a driver."""
        info = current.task() if self._in_worker() else None
        return info.name if info is not None else None

    def get_task_function_name(self) -> Optional[str]:
        """Returns ``module.qualname`` of the function or method the task runs; None in a
        driver."""
        info = current.task() if self._in_worker() else None
        return current.function_name(info.function) if info is not None else None

    def get_actor_id(self) -> Optional[str]:
        """Returns the current actor's id (hex), or None outside an actor."""
        self._context()
        actor = current.actor()
        return actor.actor_id.hex() if actor is not None else None

    def get_actor_name(self) -> Optional[str]:
        """Returns the current actor's name ("" when it has none), or None outside an actor."""
        self._context()
        actor = current.actor()
        return actor.name if actor is not None else None

    @property
    def namespace(self) -> str:
        """The current job's namespace: ``rayx.init(namespace=)``'s, or the job's anonymous one
        (a uuid) when it gave none; in a task or actor, that of the job it works for."""
        self._context()
        return worker.current_namespace()

    @property
    def was_current_actor_reconstructed(self) -> bool:
        """True in an actor that was restarted (its constructor ran in an earlier worker).

        Raises:
            RuntimeError: called outside an actor.
        """
        self._context()
        actor = current.actor()
        if actor is None:
            raise RuntimeError("was_current_actor_reconstructed is only available in an actor.")
        return actor.restarted

    @property
    def current_actor(self) -> Any:
        """A handle of the actor this code runs in.

        Raises:
            RuntimeError: called outside an actor.
        """
        self._context()
        actor = current.actor()
        if actor is None:
            raise RuntimeError("This method is only available in an actor.")
        from rayx.actor import ActorHandle  # Here: rayx.actor imports this module's package.

        return ActorHandle(actor.actor_id, actor.meta)

    def get_assigned_resources(self) -> dict:
        """Returns what the current task or actor holds, e.g. ``{"CPU": 1.0}`` for a task by
        default and ``{}`` for an actor that named no resources, as in Ray.

        Raises:
            RuntimeError: called in a driver.
        """
        if not self._in_worker():
            raise RuntimeError("get_assigned_resources is only available in a task or an actor.")
        actor = current.actor()
        if actor is not None:
            return dict(actor.resources)
        info = current.task()
        return dict(info.resources) if info is not None else {}

    def is_canceled(self) -> bool:
        """Whether ray.cancel was called on the running task or actor call, as in Ray: a sync or
        threaded actor's call that runs is not interrupted by a cancel, and may check this now
        and then to stop early.

        Raises:
            RuntimeError: called in a driver, or in an async actor (whose cancelled calls get
                asyncio.CancelledError instead).
        """
        if not self._in_worker():
            raise RuntimeError("is_canceled() is only available in a task or an actor call.")
        from rayx._private import actor_loop

        if actor_loop.serving_async:
            raise RuntimeError(
                "is_canceled() is not supported in an async actor: a cancelled call gets "
                "asyncio.CancelledError where it awaits."
            )
        info = current.task()
        return info is not None and _rayx.task_cancelled(info.task_id, False)

    def get_accelerator_ids(self) -> dict:
        """Returns the accelerator ids given to the current task, e.g. ``{"GPU": ["0"]}``."""
        return {"GPU": [str(i) for i in worker.get_gpu_ids()]}

    def get_placement_group_id(self) -> Optional[str]:
        """The id (hex) of the placement group the current task or actor runs in, else None."""
        self._context()
        group = current.placement_group()
        return group[0].hex() if group is not None else None

    @property
    def current_placement_group_id(self) -> Optional[str]:
        """See get_placement_group_id; deprecated in Ray."""
        return self.get_placement_group_id()

    @property
    def should_capture_child_tasks_in_placement_group(self) -> bool:
        """True when the tasks the current task or actor submits go to its placement group."""
        self._context()
        group = current.placement_group()
        return bool(group is not None and group[1])

    def get_node_labels(self) -> dict:
        """Not supported: rayx nodes have no labels yet."""
        raise _not_supported("get_node_labels()", "rayx nodes have no labels")

    def get_runtime_env_string(self) -> str:
        """Not supported: a task's runtime_env is applied but not kept for reading back."""
        raise _not_supported(
            "get_runtime_env_string()", "a task's runtime_env is applied, not kept to read back"
        )

    @property
    def runtime_env(self) -> Any:
        """Not supported (see get_runtime_env_string)."""
        raise _not_supported("runtime_env", "a task's runtime_env is applied, not kept to read back")

    @property
    def gcs_address(self) -> str:
        """Not supported: rayx has no GCS (nodes are peers)."""
        raise _not_supported("gcs_address", "rayx has no GCS; its nodes are peers")

    @property
    def job_id(self) -> str:
        """The current job's id (hex); deprecated in Ray in favour of get_job_id()."""
        return self.get_job_id()

    @property
    def node_id(self) -> str:
        """The current node's id (hex); deprecated in Ray in favour of get_node_id()."""
        return self.get_node_id()

    @property
    def task_id(self) -> Optional[str]:
        """The current task's id (hex) or None; deprecated in Ray in favour of get_task_id()."""
        return self.get_task_id()

    @property
    def actor_id(self) -> Optional[str]:
        """The current actor's id (hex) or None; deprecated in Ray in favour of get_actor_id()."""
        return self.get_actor_id()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raise _not_supported(name, "this part of Ray's RuntimeContext is not implemented")


def get_runtime_context() -> RuntimeContext:
    """Returns the runtime context of the calling process (see `RuntimeContext`)."""
    return RuntimeContext()
