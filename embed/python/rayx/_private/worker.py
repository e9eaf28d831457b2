"""This process's connection to the engine, and the core API over it.

One `_GlobalState` per process: whether it is a driver (after `init`) or a worker (connected by
the engine before `worker_main.main` runs), the ids the engine gave it, which functions it has
exported, and in a worker the GPUs of the task it runs. The functions here check arguments the
way Ray does, turn values to and from their serialized form, and leave the work to `_rayx`.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import uuid
import warnings
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence, Union

import _rayx

from rayx import exceptions
from rayx._private import serialization
from rayx._private.serialization import VALUE, SerializedValue
from rayx.object_ref import ObjectRef

DRIVER = "driver"
WORKER = "worker"

# Parameters of ray.init that rayx accepts and does not act on (warned about once).
_IGNORED_INIT_ARGS = frozenset(
    {
        "log_to_driver", "logging_level", "logging_format",
        "logging_config", "include_dashboard", "dashboard_host", "dashboard_port",
        "configure_logging", "local_mode", "job_config", "labels", "storage",
        "_temp_dir", "_system_config", "_node_ip_address", "_plasma_directory",
        "_enable_object_reconstruction", "_redis_password", "_metrics_export_port",
        "num_nodes", "_memory", "_tracing_startup_hook", "enable_resource_isolation",
    }
)


@dataclass
class _GlobalState:
    mode: Optional[str] = None
    started_node: bool = False
    address: str = ""
    job_id: bytes = b""
    node_id: bytes = b""
    worker_id: bytes = b""
    namespace: str = ""  # A driver's job namespace (given to init, or an anonymous one).
    exported_functions: set = field(default_factory=set)
    gpu_ids: list = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)


state = _GlobalState()


def is_initialized() -> bool:
    """Returns True when this process is connected to a node (driver or worker)."""
    return state.mode is not None


def init(
    address: Optional[str] = None,
    *,
    num_cpus: Optional[float] = None,
    num_gpus: Optional[float] = None,
    resources: Optional[dict] = None,
    object_store_memory: Optional[int] = None,
    ignore_reinit_error: bool = False,
    runtime_env: Optional[dict] = None,
    namespace: Optional[str] = None,
    **kwargs: Any,
) -> dict:
    """Connects this process as a driver, starting an embedded node unless given an address.

    See `rayx.init` for the arguments. Returns a dict with the node's ``address`` and the hex
    ``node_id`` and ``job_id``.
    """
    if namespace is not None:
        from rayx._private import options  # Here: options imports rayx.util (and rayx).

        options.validate_namespace(namespace)
    for name in kwargs:
        if name not in _IGNORED_INIT_ARGS:
            raise TypeError(f"init() got an unexpected keyword argument '{name}'")
        warnings.warn(f"rayx.init ignores the argument '{name}'.", stacklevel=3)
    with state.lock:
        if state.mode is not None:
            if ignore_reinit_error:
                return _context_info()
            raise RuntimeError(
                "Maybe you called rayx.init twice by accident? This error can be suppressed "
                "by passing in 'ignore_reinit_error=True' or by calling 'rayx.shutdown()' "
                "prior to 'rayx.init()'."
            )
        if namespace is None:
            # As in Ray: a job given no namespace has an anonymous one of its own, so that its
            # named actors are not found from other jobs unless they name it.
            namespace = str(uuid.uuid4())
        if address is None:
            address = os.environ.get("RAYX_ADDRESS") or os.environ.get("RAY_ADDRESS") or None
        if address in ("local", ""):
            address = None
        env_vars = _job_env_vars(runtime_env, attaching=address is not None)
        place = _job_place(runtime_env, attaching=address is not None)
        if address is not None:
            if num_cpus is not None or num_gpus is not None or resources:
                raise ValueError(
                    "When connecting to an existing cluster, num_cpus, num_gpus and resources "
                    "must not be provided."
                )
            info = _rayx.connect(_local_socket(address), namespace)
            from rayx._private import runtime_env as runtime_env_lib

            runtime_env_lib.set_job_place(None)  # The running node's workers have none.
        else:
            node = _check_node_resources(num_cpus, num_gpus, resources, object_store_memory)
            os.environ.update(env_vars)  # The node's workers inherit them.
            from rayx._private import runtime_env as runtime_env_lib

            if place is not None:  # And where they run.
                import json  # Only for a job with a place: not loaded by every driver.

                os.environ[runtime_env_lib.JOB_PLACE_VARIABLE] = json.dumps(place)
            else:  # Not an earlier driver's (this process's parent's).
                os.environ.pop(runtime_env_lib.JOB_PLACE_VARIABLE, None)
            runtime_env_lib.set_job_place(place)  # What a task's own place is merged over.
            address = _rayx.start_node(*node)
            try:
                info = _rayx.connect(address, namespace)
            except BaseException:
                _rayx.stop_node()
                raise
            state.started_node = True
        state.address = address
        state.namespace = namespace
        _set_ids(info)
        state.mode = DRIVER
        state.exported_functions = set()
        return _context_info()


def current_namespace() -> str:
    """The namespace of the job the calling code works for: the driver's, or in a worker that of
    the job whose task (or actor) it runs."""
    if state.mode == DRIVER:
        return state.namespace
    return _rayx.context()["namespace"]


def _job_env_vars(runtime_env: Optional[dict], attaching: bool) -> dict:
    """The env_vars of init's runtime_env, for every worker of the job.

    Raises:
        NotImplementedError: a key other than env_vars, or env_vars when attaching to a running
            node (whose workers are started with that node's environment).
    """
    if not runtime_env:
        return {}
    from rayx._private import options  # Here: options imports rayx.util, which imports rayx.

    options.validate_options("task", {"runtime_env": runtime_env})
    env_vars = options.runtime_env_vars({"runtime_env": runtime_env}) or {}
    if env_vars and attaching:
        raise NotImplementedError(
            "rayx does not support runtime_env env_vars in rayx.init when attaching to a running "
            "node yet: its workers start with that node's environment; give env_vars to the "
            "tasks and actors instead (see the API compatibility table in rayx's README)."
        )
    return {name: os.path.expandvars(value) for name, value in env_vars.items()}


def _job_place(runtime_env: Optional[dict], attaching: bool) -> Optional[dict]:
    """The copies of init's working_dir and py_modules, for every worker of the job.

    Raises:
        NotImplementedError: either of them when attaching to a running node (whose workers
            start without them); give them to the tasks and actors instead.
    """
    if not runtime_env or (
        runtime_env.get("working_dir") is None and not runtime_env.get("py_modules")
    ):
        return None
    if attaching:
        raise NotImplementedError(
            "rayx does not support runtime_env working_dir and py_modules in rayx.init when "
            "attaching to a running node yet: its workers start without them; give them to the "
            "tasks and actors instead (see the API compatibility table in rayx's README)."
        )
    from rayx._private import runtime_env as runtime_env_lib

    return runtime_env_lib.prepare_for_job(runtime_env)


def _local_socket(address: str) -> str:
    """Returns the address the engine connects to for ``address``.

    ``address`` is a node's socket path, ``tcp://HOST:PORT``, or the HOST:PORT of a cluster member
    (``rayx start``). A member that runs on this machine is found through the daemons registered
    under ``$RAYX_HOME/daemons`` (each names its data directory, whose ``node.info`` holds its
    address and socket) and reached through its Unix socket; any other member, or every one when
    ``RAYX_ATTACH_OVER_TCP=1``, over TCP (``tcp://HOST:PORT``, authenticated with
    ``RAYX_CLUSTER_TOKEN``).
    """
    host, sep, port = address.rpartition(":")
    if "/" in address or not sep or not host or not port.isdigit():
        return address
    if os.environ.get("RAYX_ATTACH_OVER_TCP") == "1":
        return "tcp://" + address
    home = os.environ.get("RAYX_HOME") or os.path.join(os.path.expanduser("~"), ".rayx")
    registry = os.path.join(home, "daemons")
    wanted = {address}
    if host in ("localhost", "127.0.0.1"):
        wanted = {f"localhost:{port}", f"127.0.0.1:{port}"}
    try:
        entries = os.listdir(registry)
    except OSError:
        entries = []
    for entry in entries:
        try:
            with open(os.path.join(registry, entry)) as f:
                data_dir = f.readline().strip()
            with open(os.path.join(data_dir, "node.info")) as f:
                fields = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
        except OSError:
            continue
        if fields.get("address") in wanted and os.path.exists(fields.get("socket") or "/-"):
            return fields["socket"]
    return "tcp://" + address


def _check_node_resources(
    num_cpus: Optional[float],
    num_gpus: Optional[float],
    resources: Optional[dict],
    object_store_memory: Optional[int],
) -> tuple[float, float, dict, int]:
    """Validates init's resource arguments and fills in the defaults.

    object_store_memory 0 asks the engine for its default size.
    """

    def is_amount(value: Any) -> bool:
        return not isinstance(value, bool) and isinstance(value, (int, float)) and value >= 0

    if num_cpus is None:
        num_cpus = os.cpu_count() or 1
    if num_gpus is None:
        num_gpus = 0
    for name, value in (("num_cpus", num_cpus), ("num_gpus", num_gpus)):
        if not is_amount(value):
            raise ValueError(f"{name} must be a non-negative number, got {value!r}.")
    resources = dict(resources or {})
    for key, amount in resources.items():
        if key in ("CPU", "GPU"):
            raise ValueError(
                "Use the 'num_cpus' and 'num_gpus' keywords, not 'CPU' and 'GPU' in 'resources'."
            )
        if not isinstance(key, str) or not is_amount(amount):
            raise ValueError(
                f"resources must map names to non-negative numbers, got {key!r}: {amount!r}."
            )
    if object_store_memory is None:
        object_store_memory = 0
    elif not is_amount(object_store_memory) or not isinstance(object_store_memory, int):
        raise ValueError(
            f"object_store_memory must be a non-negative integer, got {object_store_memory!r}."
        )
    resources = {k: float(v) for k, v in resources.items()}
    return float(num_cpus), float(num_gpus), resources, object_store_memory


def _set_ids(info: dict) -> None:
    state.job_id = info.get("job_id", b"")
    state.node_id = info.get("node_id", b"")
    state.worker_id = info.get("worker_id", b"")


def _context_info() -> dict:
    return {"address": state.address, "node_id": state.node_id.hex(), "job_id": state.job_id.hex()}


def connect_as_worker() -> None:
    """Records that the engine connected this process as a worker (called by worker_main)."""
    with state.lock:
        _set_ids(_rayx.context())
        state.mode = WORKER
        state.exported_functions = set()


def shutdown() -> None:
    """Disconnects the driver and stops the node it started. Does nothing when not connected."""
    with state.lock:
        if state.mode != DRIVER:
            return
        try:
            _rayx.disconnect()
        finally:
            if state.started_node:
                _rayx.stop_node()
            state.mode = None
            state.started_node = False
            state.address = ""
            state.exported_functions = set()


atexit.register(shutdown)


def auto_init() -> None:
    """Starts rayx with the defaults when a core API is used before init, as Ray does."""
    if state.mode is None:
        init()


def require_initialized(what: str) -> None:
    """Raises RuntimeError when rayx is not connected (for APIs that do not auto-start)."""
    if state.mode is None:
        raise RuntimeError(
            f"rayx has not been started yet: call rayx.init() before {what}()."
        )


def export_function(function_id: bytes, blob: bytes) -> None:
    """Sends a function's blob to the engine, once per function per connection."""
    if function_id in state.exported_functions:
        return
    _rayx.export_function(function_id, blob)
    state.exported_functions.add(function_id)


def put_serialized(value: SerializedValue) -> ObjectRef:
    """Stores a serialized value and returns its ObjectRef."""
    return ObjectRef(_rayx.put(value.data, value.buffers, value.contained))


def put(value: Any) -> ObjectRef:
    """Stores value in the object store and returns its ObjectRef (see `rayx.put`)."""
    if isinstance(value, ObjectRef):
        raise TypeError(
            "Calling 'put' on an ObjectRef is not allowed. If you really want to do this, "
            "you can wrap the ObjectRef in a list and call 'put' on it."
        )
    auto_init()
    try:
        serialized = serialization.serialize(value)
    except Exception as e:
        raise TypeError(
            f"Could not serialize the put value of type {type(value).__module__}."
            f"{type(value).__qualname__}: {type(e).__name__}: {e}"
        ) from e
    return put_serialized(serialized)


def _check_timeout(timeout: Optional[float]) -> Optional[float]:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"timeout must be a number or None, not {type(timeout).__name__}.")
    if timeout < 0:
        raise ValueError("'timeout' must be a non-negative number or None.")
    return float(timeout)


def get(object_refs: Union[ObjectRef, Sequence[ObjectRef]], timeout: Optional[float] = None) -> Any:
    """Returns the value(s) of one ObjectRef or a list of them (see `rayx.get`)."""
    if type(object_refs) is ObjectRef and timeout is None and state.mode is not None:
        return get_one(object_refs._id)
    single = isinstance(object_refs, ObjectRef)
    if single:
        refs = [object_refs]
    elif isinstance(object_refs, list):
        refs = object_refs
        for ref in refs:
            if not isinstance(ref, ObjectRef):
                raise TypeError(
                    f"Attempting to call `get` on the value {ref!r}, which is not an ObjectRef."
                )
    else:
        raise ValueError(
            f"Invalid type of object refs, {type(object_refs)}, is given. 'object_refs' must "
            "either be an ObjectRef or a list of ObjectRefs."
        )
    timeout = _check_timeout(timeout)
    auto_init()
    if not refs:
        return []
    ids = [ref.binary() for ref in refs]
    try:
        triples = _rayx.get(ids, timeout)
    except TimeoutError:
        raise exceptions.GetTimeoutError(
            f"Get timed out: some object(s) not ready after {timeout} seconds."
        ) from None
    values = [
        serialization.deserialize(kind, data, buffers, object_id)
        for (kind, data, buffers), object_id in zip(triples, ids)
    ]
    return values[0] if single else values


def get_one(object_id: bytes) -> Any:
    """Returns the value of one object, waiting for it without a timeout (connected only).

    The common call of `get`, without its argument checks and list handling.
    """
    ((kind, data, buffers),) = _rayx.get([object_id], None)
    if kind == VALUE and not buffers:
        return _loads(data)
    return serialization.deserialize(kind, data, buffers, object_id)


_loads = serialization.pickle.loads


def wait(
    object_refs: Sequence[ObjectRef],
    *,
    num_returns: int = 1,
    timeout: Optional[float] = None,
    fetch_local: bool = True,
) -> tuple[list, list]:
    """Splits refs into (ready, not_ready), both in the given order (see `rayx.wait`)."""
    if isinstance(object_refs, ObjectRef) or not isinstance(object_refs, (list, tuple)):
        raise TypeError(f"wait() expected a list of ObjectRef, got {type(object_refs)}")
    generators = False
    for ref in object_refs:
        if not isinstance(ref, ObjectRef):
            from rayx.object_ref_generator import ObjectRefGenerator

            if not isinstance(ref, ObjectRefGenerator):
                raise TypeError(
                    f"wait() expected a list of ObjectRef, got list containing {type(ref)}"
                )
            generators = True
    if isinstance(num_returns, bool) or not isinstance(num_returns, int) or num_returns <= 0:
        raise ValueError(f"Invalid number of objects to return {num_returns}.")
    timeout = _check_timeout(timeout)
    auto_init()
    refs = list(object_refs)
    if not refs:
        return [], []
    if len(set(refs)) != len(refs):
        raise ValueError("Wait requires a list of unique object refs.")
    if num_returns > len(refs):
        raise ValueError(
            "num_returns cannot be greater than the number of objects provided to rayx.wait."
        )
    if generators:
        flags = _wait_with_generators(refs, num_returns, timeout, bool(fetch_local))
    else:
        flags = _rayx.wait([r.binary() for r in refs], num_returns, timeout, bool(fetch_local))
    ready: list = []
    not_ready: list = []
    for ref, flag in zip(refs, flags):
        (ready if flag and len(ready) < num_returns else not_ready).append(ref)
    return ready, not_ready


def _wait_with_generators(
    waitables: list, num_returns: int, timeout: Optional[float], fetch_local: bool
) -> list:
    """wait's readiness flags for ObjectRefs and ObjectRefGenerators (ready: next() would not
    block, as in Ray). Each round asks the node which are ready now, then waits for any of the
    ids not ready yet (a generator's next item or end) for at most 50 ms, until num_returns are
    ready or timeout passes."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        flags = []
        waiting: list = []  # The ids whose readiness would change a flag.
        for w in waitables:
            if isinstance(w, ObjectRef):
                ready = _rayx.wait([w.binary()], 1, 0, fetch_local)[0]
                if not ready:
                    waiting.append(w.binary())
            else:
                ready = w._next_ready(0)
                if not ready:
                    waiting.extend(w._wait_ids())
            flags.append(ready)
        left = None if deadline is None else deadline - time.monotonic()
        if sum(flags) >= num_returns or not waiting or (left is not None and left <= 0):
            return flags
        step = 0.05 if left is None else min(0.05, left)
        _rayx.wait(waiting, 1, step, fetch_local, True)


def cancel(object_ref: ObjectRef, *, force: bool = False, recursive: bool = True) -> None:
    """Cancels the task that makes object_ref (see `rayx.cancel`); for an ObjectRefGenerator,
    its generator task. With recursive, the tasks and actor calls it submitted are cancelled
    too. force=True on an actor call raises ValueError, as in Ray."""
    if not isinstance(object_ref, ObjectRef):
        from rayx.object_ref_generator import ObjectRefGenerator

        if isinstance(object_ref, ObjectRefGenerator):
            object_ref = object_ref.completed()
    if not isinstance(object_ref, ObjectRef):
        raise TypeError(
            "rayx.cancel() only supported for object refs. "
            f"For actors, try rayx.kill(). Got: {type(object_ref)}."
        )
    auto_init()
    _rayx.cancel(object_ref.binary(), bool(force), bool(recursive))


def get_gpu_ids() -> list:
    """Returns the GPU ids given to the current task (an empty list in a driver)."""
    return list(state.gpu_ids)


def direct_task_count() -> int:
    """Tasks this process has sent straight to a leased worker, bypassing the node's queue."""
    require_initialized("direct_task_count")
    return _rayx.direct_task_count()


def object_store_stats() -> dict:
    """Figures of this node's object store, as a dict.

    Keys: ``capacity`` and ``used`` (bytes of shared memory allowed and in use), ``num_objects``,
    ``num_in_memory``, ``num_spilled`` (objects whose only copy is on disk), ``spilled_bytes``
    (bytes of spill files now), ``spill_count`` and ``spill_bytes_total`` (objects and bytes
    written to disk since the node started), ``restore_count`` and ``restore_bytes_total`` (read
    back since), ``store_dir`` and ``spill_dir``.
    """
    require_initialized("object_store_stats")
    return _rayx.object_store_stats()
