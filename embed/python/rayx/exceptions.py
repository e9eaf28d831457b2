"""Exceptions raised by rayx, with Ray Core's names, hierarchy and meaning.

Every error that a task, an object or the engine can produce is a subclass of `RayError`.
`RayTaskError` wraps an exception raised by user code in a task; `get` raises it as an instance
of both `RayTaskError` and the original exception's class (see `RayTaskError.as_instanceof_cause`),
so `except ValueError:` in the caller catches a `ValueError` raised remotely.
"""

from __future__ import annotations

import os
from typing import Optional

__all__ = [
    "RayError",
    "RaySystemError",
    "RayTaskError",
    "TaskCancelledError",
    "WorkerCrashedError",
    "ObjectLostError",
    "ObjectFreedError",
    "OwnerDiedError",
    "ObjectReconstructionFailedError",
    "ObjectFetchTimedOutError",
    "ObjectStoreFullError",
    "RayActorError",
    "ActorDiedError",
    "GetTimeoutError",
    "TaskUnschedulableError",
    "NodeDiedError",
    "ObjectTooLargeError",
    "from_system_error",
]


class RayError(Exception):
    """The base of every error raised by rayx."""


class RaySystemError(RayError):
    """The engine failed in a way that no more specific error describes."""

    def __init__(self, client_exc: object = "", traceback_str: Optional[str] = None):
        super().__init__(client_exc)
        self.client_exc = client_exc
        self.traceback_str = traceback_str

    def __str__(self) -> str:
        text = f"System error: {self.client_exc}"
        if self.traceback_str:
            text += f"\ntraceback: {self.traceback_str}"
        return text


class GetTimeoutError(RayError, TimeoutError):
    """`get` (or an engine wait) did not finish within its timeout."""


class TaskCancelledError(RayError):
    """The task that would have produced this object was cancelled."""

    def __init__(self, task_id: Optional[object] = None, error_message: Optional[str] = None):
        super().__init__(task_id, error_message)
        self.task_id = task_id
        self.error_message = error_message

    def __str__(self) -> str:
        if self.error_message:
            return self.error_message
        if self.task_id is None:
            return "This task or its dependency was cancelled"
        return f"Task: {self.task_id} was cancelled."


class WorkerCrashedError(RayError):
    """The worker process running the task died unexpectedly, and no retry was left."""

    def __init__(self, message: str = ""):
        super().__init__(message)

    def __str__(self) -> str:
        detail = self.args[0] if self.args and self.args[0] else ""
        text = "The worker died unexpectedly while executing this task."
        return f"{text} {detail}" if detail else text


class ObjectLostError(RayError):
    """The object's value is lost (every copy is gone) and could not be rebuilt."""

    def __init__(self, object_ref_hex: str = "", message: str = ""):
        super().__init__(object_ref_hex, message)
        self.object_ref_hex = object_ref_hex
        self.message = message

    def __str__(self) -> str:
        text = f"Failed to retrieve object {self.object_ref_hex}." if self.object_ref_hex else (
            "Failed to retrieve object."
        )
        return f"{text} {self.message}" if self.message else text


class OwnerDiedError(ObjectLostError):
    """The process that owned the object (its submitter or putter) died."""


class ObjectReconstructionFailedError(ObjectLostError):
    """The object was lost and re-running the task that made it failed."""


class ObjectFetchTimedOutError(ObjectLostError):
    """The object could not be fetched from a remote node in time."""


class ObjectFreedError(ObjectLostError):
    """The object was freed by hand (``ray._private.internal_api.free``) while still referenced."""

    def __str__(self) -> str:
        text = f"Failed to retrieve object {self.object_ref_hex}." if self.object_ref_hex else (
            "Failed to retrieve object."
        )
        return (
            f"{text} The object was manually freed using the internal `free` call. Please "
            "ensure that `free` is only called once the object is no longer needed."
        )


class ObjectStoreFullError(RayError):
    """The object store could not make room for a new object."""


class RayActorError(RayError):
    """The actor that would run this method died or could not be reached."""

    def __init__(self, message: str = "The actor died unexpectedly before finishing this task."):
        super().__init__(message)
        self.error_msg = message

    def __str__(self) -> str:
        return self.error_msg


class ActorDiedError(RayActorError):
    """The actor is dead: it exited, was killed, or failed more often than it may restart."""


class TaskUnschedulableError(RayError):
    """No node in the cluster can ever satisfy the task's resource request."""


class NodeDiedError(RayError):
    """The node that held the task or object died."""


class ObjectTooLargeError(RayError):
    """The object is too large to travel inline, the only way values reach a driver over TCP."""


class RayTaskError(RayError):
    """An exception raised by user code while a task ran.

    Attributes:
        function_name: the task's name, as shown to the user (e.g. ``boom``).
        traceback_str: the formatted remote traceback, ending with the exception line.
        cause: the original exception object, or None when it could not be serialized.
        pid: the id of the worker process that ran the task.
        cause_repr: ``repr(cause)`` taken in the worker, kept when ``cause`` itself is lost.
    """

    def __init__(
        self,
        function_name: str,
        traceback_str: str,
        cause: Optional[BaseException],
        pid: Optional[int] = None,
        cause_repr: Optional[str] = None,
    ):
        # Not super(): in the classes made by as_instanceof_cause the next class is the cause's.
        BaseException.__init__(self, function_name, traceback_str)
        self.function_name = function_name
        self.traceback_str = traceback_str
        self.cause = cause
        self.pid = os.getpid() if pid is None else pid
        self.cause_repr = repr(cause) if cause_repr is None else cause_repr

    def __reduce__(self):
        # The dynamic subclasses made by as_instanceof_cause pickle as the plain class; the
        # receiver makes its own subclass again.
        return (
            RayTaskError,
            (self.function_name, self.traceback_str, self.cause, self.pid, self.cause_repr),
        )

    def __str__(self) -> str:
        return f"ray::{self.function_name}() (pid={self.pid})\n{self.traceback_str.rstrip()}"

    def as_instanceof_cause(self) -> "RayTaskError":
        """Returns an equivalent error that is also an instance of the cause's class.

        The result's class derives from both `RayTaskError` and ``type(self.cause)``; attribute
        lookups it cannot answer go to the cause. When no such class can be made (no cause, the
        cause is itself a `RayError`, or the two classes cannot be combined) returns self.
        """
        cause = self.cause
        if cause is None or isinstance(cause, RayError):
            return self
        cls = _dual_class(type(cause))
        if cls is None:
            return self
        try:
            err = cls.__new__(cls)
            RayTaskError.__init__(
                err, self.function_name, self.traceback_str, cause, self.pid, self.cause_repr
            )
            err.args = cause.args
        except Exception:  # An exotic cause class: keep the plain error.
            return self
        return err


_DUAL_CLASSES: dict[type, Optional[type]] = {}


def _dual_class(cause_cls: type) -> Optional[type]:
    """Returns (and caches) the class deriving from RayTaskError and cause_cls, or None."""
    if cause_cls in _DUAL_CLASSES:
        return _DUAL_CLASSES[cause_cls]

    def __getattr__(self, name):  # Only called for attributes not found the usual way.
        cause = self.__dict__.get("cause")
        if cause is None:
            raise AttributeError(name)
        return getattr(cause, name)

    namespace = {
        "__init__": RayTaskError.__init__,
        "__str__": RayTaskError.__str__,
        "__repr__": lambda self: f"{type(self).__name__}({self.cause_repr})",
        "__reduce__": RayTaskError.__reduce__,
        "__getattr__": __getattr__,
        "__module__": RayTaskError.__module__,
    }
    try:
        name = f"RayTaskError({cause_cls.__name__})"
        cls: Optional[type] = type(name, (RayTaskError, cause_cls), namespace)
    except TypeError:  # Layout conflicts, final classes.
        cls = None
    _DUAL_CLASSES[cause_cls] = cls
    return cls


# The exception class of each system error code. The codes themselves are the engine's
# (engine/wire/values.h, exported as _rayx.SYSTEM_ERRORS); _check_system_errors keeps the two
# lists the same.
_SYSTEM_ERRORS = {
    "WORKER_DIED": WorkerCrashedError,
    "TASK_CANCELLED": TaskCancelledError,
    "OBJECT_LOST": ObjectLostError,
    "ACTOR_DIED": ActorDiedError,
    "OWNER_DIED": OwnerDiedError,
    "OBJECT_STORE_FULL": ObjectStoreFullError,
    "UNSCHEDULABLE": TaskUnschedulableError,
    "NODE_DIED": NodeDiedError,
    "OBJECT_TOO_LARGE": ObjectTooLargeError,
    "OBJECT_FREED": ObjectFreedError,
}


def _check_system_errors() -> None:
    import _rayx

    engine_codes = set(getattr(_rayx, "SYSTEM_ERRORS", _SYSTEM_ERRORS))
    if engine_codes != set(_SYSTEM_ERRORS):
        raise ImportError(
            "rayx.exceptions does not match the engine's system error codes: "
            f"{sorted(engine_codes ^ set(_SYSTEM_ERRORS))}"
        )


_check_system_errors()


def from_system_error(text: str, object_hex: str = "") -> RayError:
    """Makes the exception for a SYSTEM_ERROR value, whose text is ``"CODE: message"``.

    Unknown codes give a `RaySystemError` carrying the whole text.
    """
    code, _, message = text.partition(": ")
    cls = _SYSTEM_ERRORS.get(code)
    if cls is None:
        return RaySystemError(text)
    if cls is TaskCancelledError:
        return TaskCancelledError(object_hex or None, message or None)
    if issubclass(cls, ObjectLostError):
        return cls(object_hex, message)
    return cls(message)
