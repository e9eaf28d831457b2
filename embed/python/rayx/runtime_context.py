"""`RuntimeContext`: who and where the calling code is (job, task, node, worker)."""

from __future__ import annotations

from typing import Optional

import _rayx

from rayx._private import worker

__all__ = ["RuntimeContext", "get_runtime_context"]


class RuntimeContext:
    """A view of the current process's context; ids are hex strings, as in Ray."""

    def _context(self) -> dict:
        worker.require_initialized("get_runtime_context")
        return _rayx.context()

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
        """Returns the id (hex) of the task running now, or None in a driver outside tasks."""
        task_id = self._context().get("task_id")
        if not task_id or worker.state.mode != worker.WORKER:
            return None
        return task_id.hex()

    def get_actor_id(self) -> Optional[str]:
        """Returns the current actor's id (hex), or None outside an actor (always, for now)."""
        actor_id = self._context().get("actor_id")
        return actor_id.hex() if actor_id else None

    def get_accelerator_ids(self) -> dict:
        """Returns the accelerator ids given to the current task, e.g. ``{"GPU": ["0"]}``."""
        return {"GPU": [str(i) for i in worker.get_gpu_ids()]}

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


def get_runtime_context() -> RuntimeContext:
    """Returns the runtime context of the calling process (see `RuntimeContext`)."""
    return RuntimeContext()
