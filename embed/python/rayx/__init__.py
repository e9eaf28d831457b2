"""rayx: Ray Core's task API, served by one self-contained binary.

Programs written against Ray Core run unchanged: ``import rayx`` (or ``import ray``, the same
module), decorate functions with ``@rayx.remote``, call ``f.remote(...)`` to get ObjectRefs, and
``rayx.get`` them. The engine (the C extension ``_rayx``) schedules, stores and moves everything;
this package checks arguments the way Ray does and converts values.
"""

from __future__ import annotations

import inspect
from typing import Any, Optional, Sequence, Union

import _rayx

from rayx import exceptions
from rayx.actor import ActorClass, ActorHandle, get_actor, kill, method
from rayx._private import options as _options
from rayx._private import worker as _worker
from rayx.object_ref import ObjectRef
from rayx.object_ref_generator import DynamicObjectRefGenerator, ObjectRefGenerator
from rayx.remote_function import RemoteFunction
from rayx.runtime_context import RuntimeContext, get_runtime_context

_worker_state = _worker.state
_get_one = _worker.get_one

__version__ = "0.1.0"

__all__ = [
    "ActorClass",
    "ActorHandle",
    "DynamicObjectRefGenerator",
    "ObjectRef",
    "ObjectRefGenerator",
    "RemoteFunction",
    "RuntimeContext",
    "available_resources",
    "cancel",
    "cluster_resources",
    "exceptions",
    "get",
    "get_actor",
    "get_gpu_ids",
    "get_runtime_context",
    "init",
    "is_initialized",
    "kill",
    "method",
    "nodes",
    "put",
    "remote",
    "shutdown",
    "timeline",
    "wait",
]


def init(
    address: Optional[str] = None,
    *,
    num_cpus: Optional[float] = None,
    num_gpus: Optional[float] = None,
    resources: Optional[dict] = None,
    object_store_memory: Optional[int] = None,
    ignore_reinit_error: bool = False,
    **kwargs: Any,
) -> dict:
    """Connects this program to rayx, starting a node inside this process unless given an address.

    Args:
        address: the node to attach to; None (or "local") starts an embedded node. When None, the
            environment variable RAYX_ADDRESS (or RAY_ADDRESS) is used if set.
        num_cpus: CPUs of the embedded node (default: os.cpu_count()).
        num_gpus: GPUs of the embedded node (default 0).
        resources: custom resources of the embedded node, e.g. ``{"accel": 1}``; ``"memory"``
            sets its memory resource (default: the memory available now, less the object store).
        object_store_memory: bytes of shared memory for large objects (default: the engine's).
        ignore_reinit_error: when already initialized, return instead of raising.
        runtime_env: ``{"env_vars": {...}}``, set in the environment of every worker of the
            embedded node (and of the driver); ``working_dir`` and ``py_modules`` (local
            directories, copied): every worker of the job runs in the working directory's copy,
            with it and the modules importable; other keys raise NotImplementedError.
        namespace: the job's namespace, where its named actors live and `get_actor` looks
            (None: an anonymous namespace of the job's own, as in Ray).
        **kwargs: other ray.init parameters are accepted and ignored, with a warning.

    Returns:
        A dict with the node's ``address`` and the hex ``node_id`` and ``job_id``.

    Raises:
        RuntimeError: already initialized (and ignore_reinit_error is False).
        ValueError: a bad resource value, or resources given together with an address.
    """
    return _worker.init(
        address,
        num_cpus=num_cpus,
        num_gpus=num_gpus,
        resources=resources,
        object_store_memory=object_store_memory,
        ignore_reinit_error=ignore_reinit_error,
        **kwargs,
    )


def shutdown() -> None:
    """Disconnects the driver and stops the node that init started. Safe to call twice."""
    _worker.shutdown()


def is_initialized() -> bool:
    """Returns True when init has been called (or this process is a worker)."""
    return _worker.is_initialized()


def remote(*args: Any, **kwargs: Any) -> Any:
    """Makes a function a remote function: ``@rayx.remote`` or ``@rayx.remote(**options)``.

    Options (also accepted by ``f.options(...)``): num_cpus (default 1), num_gpus, resources,
    memory, num_returns (default 1), max_retries (default 3; retries after worker failures; -1:
    for ever),
    retry_exceptions (False, True, or a list of exception types), name.

    On a class it makes an actor class (see `rayx.actor`), with the options num_cpus, num_gpus,
    resources, memory, name, namespace, lifetime ("detached"), get_if_exists, max_restarts,
    max_task_retries and max_concurrency.

    Raises:
        ValueError: an unknown option or a bad value.
        TypeError: applied to something that is neither a function nor a class.
    """
    if len(args) == 1 and not kwargs and callable(args[0]):
        return _make_remote(args[0], {})
    if args:
        raise TypeError(
            "The @rayx.remote decorator must be applied either with no arguments and no "
            "parentheses, for example '@rayx.remote', or it must be applied using some of the "
            "options, for example '@rayx.remote(num_returns=2, resources={\"CustomResource\": 1})'."
        )
    _options.validate_options("task", {k: v for k, v in kwargs.items() if k in _TASK_OR_BOTH})
    return lambda function_or_class: _make_remote(function_or_class, kwargs)


# Options valid for tasks; actor-only options are checked when the decorated class arrives.
_TASK_OR_BOTH = frozenset(
    name for name in _options._OPTIONS if "task" in _options._OPTIONS[name].applies_to
)


def _make_remote(function_or_class: Any, remote_options: dict) -> Any:
    if inspect.isclass(function_or_class):
        return ActorClass(function_or_class, remote_options)
    if not inspect.isroutine(function_or_class):
        raise TypeError(
            "The @rayx.remote decorator must be applied to either a function or a class, "
            f"not {type(function_or_class).__name__}."
        )
    return RemoteFunction(function_or_class, remote_options)


def get(
    object_refs: Union[ObjectRef, Sequence[ObjectRef]], *, timeout: Optional[float] = None
) -> Any:
    """Returns the value of an ObjectRef, or the values of a list of them in the same order.

    Blocks until every value exists (in a task, the blocked worker lends its CPU back).

    Raises:
        GetTimeoutError: not every value was ready within timeout seconds.
        RayTaskError: the task raised; the error is also an instance of the original class.
        TaskCancelledError, WorkerCrashedError, ObjectLostError, ...: the value cannot exist.
    """
    if type(object_refs) is ObjectRef and timeout is None and _worker_state.mode is not None:
        return _get_one(object_refs._id)  # The common call, without a frame more.
    return _worker.get(object_refs, timeout=timeout)


def put(value: Any) -> ObjectRef:
    """Stores value in the object store and returns an ObjectRef to it.

    Raises:
        TypeError: value is an ObjectRef, or cannot be serialized.
    """
    return _worker.put(value)


def wait(
    object_refs: Sequence[Union[ObjectRef, ObjectRefGenerator]],
    *,
    num_returns: int = 1,
    timeout: Optional[float] = None,
    fetch_local: bool = True,
) -> tuple[list, list]:
    """Waits until num_returns of the refs are ready or timeout seconds have passed.

    An ObjectRefGenerator in object_refs is ready when its next item is (next() would not
    block), as in Ray.

    Returns:
        (ready, not_ready): at most num_returns ready refs, and the rest; both keep the order of
        object_refs.

    Raises:
        ValueError: duplicate refs, or num_returns outside 1..len(object_refs).
        TypeError: object_refs is not a list of ObjectRefs.
    """
    return _worker.wait(
        object_refs, num_returns=num_returns, timeout=timeout, fetch_local=fetch_local
    )


def cancel(object_ref: ObjectRef, *, force: bool = False, recursive: bool = True) -> None:
    """Cancels the task that makes object_ref; getting it then raises TaskCancelledError.

    A task: a queued one is dropped; a running one gets KeyboardInterrupt, or with force=True its
    worker is killed (WorkerCrashedError). An actor call (Ray's semantics): a queued one is
    dropped; a running async one gets asyncio.CancelledError; a running sync or threaded one goes
    on (it can check ``get_runtime_context().is_canceled()``); force=True raises ValueError (use
    ``kill``). With ``recursive`` (the default) the tasks and actor calls it submitted are
    cancelled too. A finished task is left as it is.
    """
    _worker.cancel(object_ref, force=force, recursive=recursive)


def get_gpu_ids() -> list:
    """Returns the ids (ints) of the GPUs given to the current task; [] in the driver."""
    return _worker.get_gpu_ids()


def cluster_resources() -> dict:
    """Returns the total resources of the cluster, e.g. ``{"CPU": 2.0, "GPU": 1.0}``."""
    _worker.require_initialized("cluster_resources")
    return _rayx.cluster_resources()


def available_resources() -> dict:
    """Returns the resources not in use now (the view may lag slightly behind)."""
    _worker.require_initialized("available_resources")
    return _rayx.available_resources()


def timeline(filename: Optional[str] = None) -> Optional[list]:
    """The current job's tasks as Chrome trace events, from the lineage log.

    With ``filename``, writes them there as a JSON array (loadable in Perfetto and
    chrome://tracing) and returns None; without, returns them as a list of dicts, as Ray does.
    Raises RuntimeError when this job is not logged (``RAYX_LINEAGE=0``, or no node started here).
    """
    import json
    import subprocess
    import sys
    import tempfile

    job = _rayx.lineage_job()
    if job is None:
        raise RuntimeError("rayx.timeline: this job is not in the lineage log (RAYX_LINEAGE=0?)")
    with tempfile.TemporaryDirectory() as tmp:
        target = filename if filename is not None else tmp + "/timeline.json"
        done = subprocess.run([sys.executable, "timeline", job, "-o", target],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError("rayx.timeline: " + done.stderr.strip())
        if filename is not None:
            return None
        with open(target) as f:
            return json.load(f)


def nodes() -> list:
    """Returns one dict per node with Ray's keys (NodeID, Alive, Resources, ...)."""
    _worker.require_initialized("nodes")
    return _rayx.nodes()


def __getattr__(name: str) -> Any:
    if name == "util":  # As after Ray's `import ray`; loaded on first use, for start-up time.
        import importlib

        return importlib.import_module("rayx.util")
    # Ray's names that rayx lacks raise NotImplementedError (rayx._private.not_supported).
    from rayx._private import not_supported

    return not_supported.refuse_name("ray", name, not_supported.NAMES_OF_RAY)


def _install_import_refuser() -> None:
    # `import ray.data` (and Ray's other libraries) raises ImportError saying why.
    from rayx._private import not_supported

    not_supported.install_import_refuser()


_install_import_refuser()
