"""The task loop of a worker process.

The engine starts a worker, connects it, and calls `main`, which takes tasks from
``_rayx.next_task()`` one at a time, runs each, and reports its results with
``_rayx.task_done``. `execute_task` is the part that runs one task; it never raises. A worker sent
an actor's creation task becomes that actor's for good (`actor_loop.run`).

Cancellation: the engine names a cancelled task to its worker, and sends it SIGINT once that
name is in the worker's socket. The handler installed here raises KeyboardInterrupt only while
user code runs and only when the engine says (having read what arrived) that the running task was
cancelled; the task then reports TASK_CANCELLED. A task named before it comes is not run at all
(next_task marks it). A SIGINT that arrives while no user code runs is remembered: when the next
task's code is about to start, the worker asks the engine whether that task was cancelled, so a
cancel that raced the task's start is never lost, and a stray or late signal (meant for a task
that ended) never stops another. The worker ignores SIGINT until this handler is installed (see
the worker subcommand), so the first task asks too. Actor calls get no signal (actor_loop.py).
A SIGINT that lands just before a blocking call (time.sleep) is seen only when the call returns,
so the node repeats it every second until the task ends; KeyboardInterrupt is raised once per
task, so the repeats do not interrupt its cleanup.
"""

from __future__ import annotations

import inspect
import io
import os
import pickle
import signal
import sys
import threading
import traceback
import types
from typing import Any, Callable, Optional

import _rayx

from rayx import exceptions
from rayx._private import current, runtime_env, serialization, task_args, worker
from rayx._private.serialization import _PLAIN_TYPES, SYSTEM_ERROR, TASK_ERROR, VALUE
from rayx.object_ref import ObjectRef

# Ids in a serialization's contained list: 20-byte object ids, and 16-byte actor ids (handles).
ACTOR_ID_SIZE = 16

_functions: dict[bytes, Callable] = {}
# Definitions that came with a task that was not run (it was cancelled before it came).
_unloaded_definitions: dict[bytes, bytes] = {}
_in_user_code = False
# The task whose user code runs while _in_user_code is set (None for an actor's calls).
_running_task: Optional[bytes] = None
# A SIGINT came while no user code ran (or may have, before the handler was installed).
_sigint_pending = True
# The task KeyboardInterrupt was raised in: the node repeats a cancel's SIGINT until the task ends
# (engine/node/cancel_resignal.h), and a repeat must not interrupt the task's cleanup.
_interrupted_task: Optional[bytes] = None


def main() -> None:
    """Runs tasks until the engine says to stop (next_task returns None)."""
    worker.connect_as_worker()
    job_place = os.environ.get(runtime_env.JOB_PLACE_VARIABLE)
    if job_place:  # init's working_dir and py_modules, for every task of this worker.
        import json  # Only for a job with a place: not loaded by every worker.

        place = json.loads(job_place)
        runtime_env.apply(place)
        runtime_env.set_job_place(place)
    _install_sigint_handler()
    _note_direct_streams()
    next_task, task_done = _rayx.next_task, _rayx.task_done
    while True:
        try:
            task = next_task()
        except KeyboardInterrupt:
            continue
        if task is None:
            return
        if len(task) > 9 and task[9]:  # An actor's creation task: this worker is the actor's now.
            from rayx._private import actor_loop

            current.plain_task = None  # Its calls are the context variable's from here on.
            actor_loop.run(task)
            return
        task_id = task[0]
        results, retry = execute_task(task)
        del task  # Its argument values may map objects: unmapped before the next task comes.
        task_done(task_id, results, retry)
        if len(results) != 1 or results[0][3]:  # Not one plain result: holds to drop, maybe.
            _release_contained(results)
        del results


def _install_sigint_handler() -> None:
    try:
        signal.signal(signal.SIGINT, _on_sigint)
    except ValueError:  # Not the main thread: keep Python's default handler.
        pass


def _on_sigint(signum: int, frame: Any) -> None:
    global _sigint_pending, _interrupted_task
    if _in_user_code:
        task_id = _running_task
        if task_id is None or task_id == _interrupted_task:
            return  # An actor's call, or a repeat for a task interrupted already.
        if _rayx.task_cancelled(task_id):
            _interrupted_task = task_id
            raise KeyboardInterrupt
        return  # Meant for a task that ended (or not from the engine): this one goes on.
    _sigint_pending = True


def apply_env_vars(env_vars: dict, expand: bool = True) -> dict:
    """Sets runtime_env env_vars in this process's environment; returns what to restore.

    ``${NAME}`` in a value is replaced by NAME's value before, as Ray does (unless expand is
    False: a parent's env_vars, inherited, come as they were set in the parent).
    """
    saved = {name: os.environ.get(name) for name in env_vars}
    for name, value in env_vars.items():
        os.environ[name] = os.path.expandvars(value) if expand and "$" in value else value
    return saved


def applied_env_vars(env_vars: dict) -> dict:
    """The values apply_env_vars set for env_vars, as a child inherits them."""
    return {name: os.environ.get(name, "") for name in env_vars}


def restore_env_vars(saved: dict) -> None:
    """Undoes apply_env_vars: the next task on this worker sees the environment as it was."""
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


_PLACE_FIRST_BYTE = task_args.PLACE_MAGIC[0]
_NO_ARGS_RETRY = task_args._NO_ARGS_RETRY
_decode_args = task_args.decode_args
_TaskEnv = task_args.TaskEnv
_DependencyFailed = task_args.DependencyFailed
_NO_RESOURCES: dict = {}
# next_task's tuple has 15 fields; the tests' and the fake engine's may stop after the ninth
# (gpu_ids), and get the rest from here: not an actor's creation, no method, no concurrency, not
# cancelled, the first attempt, no resources.
_TASK_FIELDS = 15
_TASK_TAIL = (False, "", 0, False, 0, _NO_RESOURCES)


def execute_task(task: tuple) -> tuple[list, bool]:
    """Runs one task from next_task and returns ``(results, retry)`` for task_done.

    Never raises: user errors become one TASK_ERROR result, cancellation a SYSTEM_ERROR one.
    This runs once per task: the common case (no runtime_env, no placement group, no GPUs, a
    call without arguments or with plain ones) takes as few steps as it can.
    """
    global _in_user_code, _running_task, _interrupted_task, _sigint_pending
    if len(task) != _TASK_FIELDS:
        task = task + _TASK_TAIL[len(task) - 9:]
    (task_id, function_id, function_blob, name, args_blob, dependency_values, return_ids,
     retries_left, gpu_ids, _creation, _method, _concurrency, cancelled, _attempt,
     resources) = task
    _running_task = task_id
    _interrupted_task = None  # This run has not been interrupted yet.
    if cancelled:  # Cancelled before it came.
        if function_blob is not None:  # The tasks after it come without the definition.
            _unloaded_definitions.setdefault(function_id, function_blob)
        return [(SYSTEM_ERROR, f"TASK_CANCELLED: task {name} was cancelled", [], [])], False
    if gpu_ids or worker.state.gpu_ids or _environ_data is None or (
        _environ_data.get(b"CUDA_VISIBLE_DEVICES") != b""
    ):
        set_gpu_ids(gpu_ids)  # Otherwise no GPUs before and now, and the environment says so.
    retry_exceptions: Any = False
    saved_place = saved_place_env = None
    try:
        try:
            function = _functions.get(function_id)
            if function is None:
                function = _load_function(function_id, function_blob)
            # A call without arguments has one of two blobs (task_args.py): nothing to decode.
            retry_exceptions = None if dependency_values else _NO_ARGS_RETRY.get(args_blob)
            if retry_exceptions is not None:
                args, kwargs = (), None
            else:
                if args_blob[0] == _PLACE_FIRST_BYTE:  # Not a pickle: maybe wrapped with a place.
                    place, args_blob = task_args.split_place(args_blob)
                    if place is not None:  # working_dir, py_modules, a parent's env_vars.
                        saved_place = runtime_env.apply(place)
                        if place.get("env_vars"):  # Before the task's own, which win.
                            saved_place_env = apply_env_vars(place["env_vars"], expand=False)
                        current.inherited_place = place  # What its children inherit.
                args, kwargs, retry_exceptions = _decode_args(args_blob, dependency_values)
            current.plain_task = (task_id, name, function, resources)
            saved_env = None
            generator = None
            if type(retry_exceptions) is _TaskEnv:
                retry_exceptions, env_vars, generator, group = retry_exceptions
                if env_vars:
                    saved_env = apply_env_vars(env_vars)
                    current.inherited_place = runtime_env.running_place(
                        current.inherited_place, applied_env_vars(env_vars))
                if group is not None or current._placement_group is not None:
                    current.set_placement_group(group)
            elif current._placement_group is not None:
                current.set_placement_group(None)
            try:
                _in_user_code = True  # First: a SIGINT from now on raises in the handler.
                if _sigint_pending:  # One came while no user code ran: was it for this task?
                    _sigint_pending = False
                    if _rayx.task_cancelled(task_id):
                        _interrupted_task = task_id
                        raise KeyboardInterrupt
                output = function(*args, **kwargs) if kwargs else function(*args)
                if generator is not None:  # Its items go out as they come (user code runs).
                    del args, kwargs
                    return stream_items(task_id, name, output, generator), False
            finally:
                _in_user_code = False
                if saved_env is not None:
                    restore_env_vars(saved_env)
            del args, kwargs
            if type(output) in _PLAIN_TYPES and len(return_ids) == 1:
                # The common return: one builtin scalar (no buffers, no refs to hold).
                return [(VALUE, _dumps(output, 5), _NONE, _NONE)], False
            return _serialize_returns(name, output, len(return_ids)), False
        except _DependencyFailed as failed:
            return [failed.triple], False
        except KeyboardInterrupt:
            return [(SYSTEM_ERROR, f"TASK_CANCELLED: task {name} was cancelled", [], [])], False
        except Exception as e:
            retry = retries_left != 0 and _should_retry(e, retry_exceptions)  # -1: for ever.
            return [_error_result(name, e)], retry
    except KeyboardInterrupt:  # A late SIGINT while handling the above.
        return [(SYSTEM_ERROR, f"TASK_CANCELLED: task {name} was cancelled", [], [])], False
    finally:
        _in_user_code = False
        if current.inherited_place is not None:
            current.inherited_place = None
        if saved_place_env is not None:
            restore_env_vars(saved_place_env)
        if saved_place is not None:
            runtime_env.restore(saved_place)
        if (sys.stdout is not _direct_stdout or sys.stderr is not _direct_stderr
                or not (_direct_stdout.write_through and _direct_stderr.write_through)):
            _flush()  # Not the worker's own streams, which buffer nothing (see _flush).


def set_gpu_ids(gpu_ids: Any) -> None:
    """Gives the task its GPUs: get_gpu_ids() and CUDA_VISIBLE_DEVICES.

    The environment is written only when the value changes (a putenv per task costs more
    than the comparison).
    """
    worker.state.gpu_ids = list(gpu_ids)
    if gpu_ids:
        visible = ",".join(str(i) for i in gpu_ids)
        encoded = visible.encode()
    else:
        visible, encoded = "", b""
    if _environ_data is not None:  # os.environ's own dict: no key encoding per task.
        if _environ_data.get(b"CUDA_VISIBLE_DEVICES") == encoded:
            return
    elif os.environ.get("CUDA_VISIBLE_DEVICES") == visible:
        return
    os.environ["CUDA_VISIBLE_DEVICES"] = visible


# CPython's os.environ keeps its values in this dict of encoded keys and values.
_environ_data = getattr(os.environ, "_data", None)
if not isinstance(_environ_data, dict):
    _environ_data = None


def _load_function(function_id: bytes, blob: Optional[bytes]) -> Callable:
    function = _functions.get(function_id)
    if function is None:
        if blob is None:
            blob = _unloaded_definitions.pop(function_id, None)
        if blob is None:
            raise RuntimeError(
                f"the engine sent no definition for function {function_id.hex()} "
                "and this worker has none cached"
            )
        function = serialization.deserialize_function(blob)
        _functions[function_id] = function
    return function


def stream_items(task_id: bytes, name: str, output: Any, mode: str) -> list:
    """Runs a generator task's generator: puts each item as it is yielded (return k + 1 of the
    task, held by the node for the caller's generator), then returns the task's one result: the
    number of items ("streaming"), or a DynamicObjectRefGenerator of their refs ("dynamic").

    Raises what the generator raises (the caller turns it into the task's error result).
    """
    if not (inspect.isgenerator(output) or _is_iterator(output)):
        raise TypeError(
            f"Task {name} was called with num_returns={mode!r} but returned a "
            f"{type(output).__name__}, not a generator: use yield."
        )
    refs: Optional[list] = [] if mode == "dynamic" else None
    index = 0
    for value in output:
        produced = put_item(task_id, index, value)
        if refs is not None:
            refs.append(ObjectRef(produced))
        index += 1
    return _stream_result(name, index, refs)


async def stream_items_async(task_id: bytes, name: str, output: Any, mode: str) -> list:
    """`stream_items` for an async generator (an async actor's method)."""
    refs: Optional[list] = [] if mode == "dynamic" else None
    index = 0
    async for value in output:
        produced = put_item(task_id, index, value)
        if refs is not None:
            refs.append(ObjectRef(produced))
        index += 1
    return _stream_result(name, index, refs)


def _stream_result(name: str, count: int, refs: Optional[list]) -> list:
    if refs is None:
        return [(VALUE, _dumps(count, 5), _NONE, _NONE)]
    from rayx.object_ref_generator import DynamicObjectRefGenerator

    return _serialize_returns(name, DynamicObjectRefGenerator(refs), 1)


def _is_iterator(output: Any) -> bool:
    return hasattr(output, "__next__") and hasattr(output, "__iter__")


def put_item(task_id: bytes, index: int, value: Any) -> bytes:
    """Puts item index of the generator task task_id; returns its object id."""
    if type(value) in _PLAIN_TYPES:
        return _rayx.put_item(task_id, index, _dumps(value, 5), _NONE, _NONE)
    serialized = serialization.serialize(value)
    return _rayx.put_item(
        task_id, index, serialized.data, serialized.buffers, serialized.contained
    )


def _serialize_returns(name: str, output: Any, num_returns: int) -> list:
    if type(output) is _GeneratorType:
        # A generator with a fixed num_returns (as Ray allows): its items are the returns.
        items = list(output)
        if len(items) != num_returns:
            raise ValueError(
                f"Task {name} yielded {len(items)} value(s), but num_returns={num_returns}."
            )
        output = items[0] if num_returns == 1 else items
    if num_returns == 1:
        outputs = [output]
    elif num_returns == 0:
        return []
    else:
        try:
            outputs = list(output)
        except TypeError:
            outputs = None
        if outputs is None or len(outputs) != num_returns:
            raise ValueError(
                f"Task {name} returned {'a non-iterable' if outputs is None else len(outputs)} "
                f"value(s), but num_returns={num_returns}."
            )
    results = []
    for value in outputs:
        if type(value) in _PLAIN_TYPES:  # No buffers, no refs: plain pickle, no bookkeeping.
            results.append((VALUE, _dumps(value, 5), _NONE, _NONE))
            continue
        serialized = serialization.serialize(value)
        # The refs (and actor handles) inside a result must outlive the return value, which dies
        # before task_done is sent: held here, released by _release_contained once the node has
        # the result.
        for contained_id in serialized.contained:
            _hold(contained_id, True)
        results.append((VALUE, serialized.data, serialized.buffers, serialized.contained))
    return results


_dumps = pickle.dumps
_GeneratorType = types.GeneratorType
_NONE = ()  # The buffers and contained refs of a plain result: none.


def _release_contained(results: list) -> None:
    """Drops the holds that _serialize_returns took on the refs inside the results."""
    for kind, _data, _buffers, contained in results:
        if kind == VALUE:
            for contained_id in contained:
                _hold(contained_id, False)


def _hold(contained_id: bytes, hold: bool) -> None:
    """Takes or drops one hold on an ObjectRef's object or, for a 16-byte id, an actor."""
    if len(contained_id) == ACTOR_ID_SIZE:
        (_rayx.add_actor_ref if hold else _rayx.remove_actor_ref)(contained_id)
    else:
        (_rayx.add_ref if hold else _rayx.remove_ref)(contained_id)


def _should_retry(error: BaseException, retry_exceptions: Any) -> bool:
    if retry_exceptions is True:
        return True
    if isinstance(retry_exceptions, tuple) and retry_exceptions:
        return isinstance(error, retry_exceptions)
    return False


def _error_result(name: str, error: BaseException) -> tuple:
    """The TASK_ERROR result for an exception raised by a task (or by its return's pickling)."""
    tb_start = error.__traceback__
    while tb_start is not None and tb_start.tb_frame.f_globals.get("__name__") == __name__:
        tb_start = tb_start.tb_next  # Hide this module's frames, keep the user's.
    tb = "".join(traceback.format_exception(type(error), error, tb_start or error.__traceback__))
    cause: Optional[BaseException] = error
    if isinstance(error, exceptions.RayTaskError):
        # An error from a task this one waited on: keep the original cause, show both traces.
        cause = error.cause
        tb = tb + "\n" + str(error)
    err = exceptions.RayTaskError(name, tb, cause, os.getpid(), repr(cause))
    try:
        data = serialization.serialize(err, out_of_band=False).data
    except Exception:  # The cause cannot be pickled: send its text only.
        err = exceptions.RayTaskError(name, tb, None, os.getpid(), repr(cause))
        data = serialization.serialize(err, out_of_band=False).data
    return (TASK_ERROR, data, [], [])


# The worker's own stdout and stderr when they buffer nothing (write-through text over a raw
# file): flushing them is a no-op, so _flush skips them while they are in place and unchanged.
_direct_streams: tuple = ()
# Both streams when both are direct (execute_task's test before it calls _flush), else None.
_direct_stdout: Any = None
_direct_stderr: Any = None


def _note_direct_streams() -> None:
    global _direct_streams, _direct_stdout, _direct_stderr
    _direct_streams = tuple(
        stream for stream in (sys.stdout, sys.stderr)
        if type(stream) is io.TextIOWrapper and stream.write_through
        and type(stream.buffer) is io.FileIO
    )
    _direct_stdout, _direct_stderr = (
        _direct_streams if len(_direct_streams) == 2 else (None, None))


def _flush() -> None:
    stdout, stderr = sys.stdout, sys.stderr
    if (stdout, stderr) == _direct_streams and stdout.write_through and stderr.write_through:
        return  # The common case: both streams are the worker's own, and buffer nothing.
    for stream in (stdout, stderr):
        if stream in _direct_streams and stream.write_through:
            continue
        try:
            stream.flush()
        except Exception:
            pass
