"""The life of an actor's worker process, after the engine sent it the actor's creation task.

`run` builds the instance (the constructor's error, if any, goes back as the creation task's
result, and the engine then ends this process), then serves method calls until the engine goes:

- one at a time, in the order received, on the main thread (max_concurrency 1);
- on a pool of max_concurrency threads (threaded actors); each thread runs its call under the
  call's own task id, so that what a call submits gets ids of its own;
- on one asyncio loop, up to max_concurrency at once, for a class with ``async def`` methods.
  Calls and what they submit run under the actor's creation task there (a thread's current task
  cannot follow interleaved coroutines), so their ids stay unique but do not name the call.

Cancellation (ray.cancel of a call, as Ray does it for actor tasks): the engine never signals an
actor's worker. A call cancelled before it starts is not run and reports TASK_CANCELLED: next_task
marks one named before it is handed out, and a threaded actor's calls waiting for a thread are
told by the cancel notices that next_task returns (a call's id, bytes) once enabled. An async
actor's call is a task on the loop: a notice cancels it (asyncio.CancelledError inside it, Ray's
semantics), wherever it waits. A sync or threaded call that runs goes on (its state is the actor's);
it can ask ``rayx.get_runtime_context().is_canceled()``.
"""

from __future__ import annotations

import asyncio
import collections
import inspect
import pickle
import threading
from concurrent.futures import ThreadPoolExecutor
from types import CoroutineType as _CoroutineType
from typing import Any

import _rayx

from rayx._private import current, runtime_env, task_args, worker
from rayx._private import worker_main as wm
from rayx._private.serialization import _PLAIN_TYPES, SYSTEM_ERROR, VALUE

# True in an async actor's worker once it serves calls (RuntimeContext.is_canceled refuses there).
serving_async = False
# What the actor holds while it lives (current.actor().resources), set once it is created.
_actor_resources: dict = {}
_dumps = pickle.dumps
_NONE = wm._NONE  # A plain result's buffers and contained refs: none.
_REPORT_NOW, _REPORT_AFTER_FLUSH, _REPORT_SOON = (
    _rayx.REPORT_NOW, _rayx.REPORT_AFTER_FLUSH, _rayx.REPORT_SOON)

# Fields of a task tuple from _rayx.next_task.
_TASK_ID, _NAME, _ARGS, _DEPS, _RETURNS, _METHOD, _CANCELLED, _ATTEMPT = 0, 3, 4, 5, 6, 10, 12, 13


def run(task: tuple) -> None:
    """Creates the actor from its creation task, then serves its calls until the engine goes."""
    (task_id, function_id, function_blob, name, args_blob, dependency_values, _returns,
     _retries, gpu_ids, _creation, _method, max_concurrency) = task[:12]
    wm.set_gpu_ids(gpu_ids)
    try:
        place, args_blob = task_args.split_place(args_blob)
        if place is not None:  # working_dir and py_modules, for good (the worker is the actor's).
            runtime_env.apply(place)
            if place.get("env_vars"):  # Its parent's, before its own (which win).
                wm.apply_env_vars(place["env_vars"], expand=False)
        cls = wm._load_function(function_id, function_blob)
        args, kwargs, actor_context = task_args.decode_args(args_blob, dependency_values)
        actor_context = actor_context if isinstance(actor_context, dict) else {}
        _set_actor(task, actor_context)
        own_env = actor_context.get("env_vars")
        if own_env:  # The actor's worker is its own: set for good.
            wm.apply_env_vars(own_env)
        # What the tasks and actors it submits inherit, for good too.
        current.inherited_place = runtime_env.running_place(
            place, wm.applied_env_vars(own_env) if own_env else None)
        if actor_context.get("placement_group"):  # Likewise the group it was placed in.
            current.set_placement_group(actor_context["placement_group"])
        if actor_context.get("runtime_env"):  # working_dir and py_modules, for good too.
            runtime_env.apply(actor_context["runtime_env"])
        current.set_task(task_id, name, getattr(cls, "__init__", None), current.actor().resources)
        wm._in_user_code = True
        try:
            instance = cls(*args, **kwargs)
        finally:
            wm._in_user_code = False
    except task_args.DependencyFailed as failed:
        _rayx.task_done(task_id, [failed.triple], False)
        return
    except Exception as e:
        _rayx.task_done(task_id, [wm._error_result(name, e)], False)
        return
    finally:
        wm._flush()
    _name_output(instance)
    is_async = any(
        inspect.iscoroutinefunction(m) or inspect.isasyncgenfunction(m)
        for _, m in inspect.getmembers(type(instance), inspect.isfunction)
    )
    # The main thread keeps the creation task as its current task (async calls run under it).
    _rayx.task_done(task_id, [], False, True)
    if is_async:
        _serve_async(instance, max(1, max_concurrency))
    elif max_concurrency > 1:
        _serve_threaded(instance, max_concurrency)
    else:
        _serve_in_order(instance)


def _name_output(instance: Any) -> None:
    """As in Ray, an actor whose class defines ``__repr__`` has its output lines prefixed with
    its repr, taken once its constructor ran (``(Counter(id=3) pid=N)``), instead of its class
    name. A repr that raises leaves the class name."""
    if type(instance).__repr__ is object.__repr__:
        return
    try:
        name = repr(instance)
    except Exception:
        return
    if isinstance(name, str) and name:
        _rayx.set_output_name(name)


def _set_actor(task: tuple, context: dict) -> None:
    """Records which actor this worker is (the creation task's actor context, see actor.py)."""
    global _actor_resources
    _actor_resources = context.get("resources", {})
    current.set_actor(
        current.ActorInfo(
            actor_id=_rayx.actor_id_of(task[_TASK_ID]),
            name=context.get("name", ""),
            namespace=context.get("namespace", ""),
            meta=context.get("meta", {}),
            resources=_actor_resources,
            restarted=len(task) > _ATTEMPT and task[_ATTEMPT] > 0,
        )
    )


def _next_task() -> Any:
    """The next task tuple, a cancel notice (a call's id, bytes), or None when the engine goes."""
    while True:
        try:
            return _rayx.next_task()
        except KeyboardInterrupt:
            continue


def _cancelled_result(name: str) -> list:
    return [(SYSTEM_ERROR, f"TASK_CANCELLED: task {name} was cancelled", [], [])]


# Per call, so bound once: current.set_task's work without its two Python calls (TaskInfo's
# __new__ is Python code; tuple.__new__ is not).
_set_task = current._task.set
_new_tuple = tuple.__new__
_TaskInfo = current.TaskInfo
_TaskEnv = task_args.TaskEnv
_decode_args = task_args.decode_args


def _prepare(instance: Any, task: tuple) -> tuple:
    """The bound method, its arguments, and its generator mode ("streaming", "dynamic", None)."""
    method = getattr(instance, task[_METHOD])
    _set_task(_new_tuple(_TaskInfo, (task[_TASK_ID], task[_NAME], method, _actor_resources)))
    args, kwargs, extra = _decode_args(task[_ARGS], task[_DEPS])
    generator = extra.generator if type(extra) is _TaskEnv else None
    return method, args, kwargs, generator


def _call(instance: Any, task: tuple) -> list:
    """Runs one method call; returns its results for task_done. Never raises.

    The refs inside the results stay held until _done has sent them.
    """
    name = task[_NAME]
    if len(task) > _CANCELLED and task[_CANCELLED]:  # Cancelled before it came: not run.
        return _cancelled_result(name)
    try:
        try:
            method, args, kwargs, generator = _prepare(instance, task)
            wm._in_user_code = True
            try:
                output = method(*args, **kwargs)
                if generator is not None:  # Its items go out as they are yielded.
                    return wm.stream_items(task[_TASK_ID], name, output, generator)
            finally:
                wm._in_user_code = False
            if type(output) in _PLAIN_TYPES and len(task[_RETURNS]) == 1:
                return [(VALUE, _dumps(output, 5), _NONE, _NONE)]  # The common return.
            return wm._serialize_returns(name, output, len(task[_RETURNS]))
        except task_args.DependencyFailed as failed:
            return [failed.triple]
        except KeyboardInterrupt:
            return [(SYSTEM_ERROR, f"TASK_CANCELLED: task {name} was cancelled", [], [])]
        except Exception as e:
            return [wm._error_result(name, e)]
    except KeyboardInterrupt:
        return [(SYSTEM_ERROR, f"TASK_CANCELLED: task {name} was cancelled", [], [])]
    finally:
        wm._flush()


def _report(task_id: bytes, results: list, keep_context: bool, timing: int) -> bool:
    """Reports a call's results, then lets go of the refs held inside them.

    A plain value (one, holding no refs) is reported with timing, and may wait to go with the
    reports after it (returns True); any other goes at once, with what waits, and only then are
    the refs inside it let go.
    """
    if len(results) == 1 and results[0][3] is _NONE:
        _rayx.task_done(task_id, results, False, keep_context, timing)
        return timing != _REPORT_NOW
    _rayx.task_done(task_id, results, False, keep_context)
    wm._release_contained(results)
    return False


def _done(task: tuple, results: list, others_pending: bool = False) -> None:
    """Reports a call's results. others_pending: other calls of this actor are running or waiting
    for a thread; a plain result's report may then wait (200 us at most) to go with theirs."""
    _report(task[_TASK_ID], results, False, _REPORT_SOON if others_pending else _REPORT_NOW)


def _serve_in_order(instance: Any) -> None:
    next_task = _rayx.next_task
    while True:
        try:
            task = next_task()
        except KeyboardInterrupt:  # See _next_task.
            continue
        if task is None:
            return
        if type(task) is bytes:  # A cancel notice (not enabled here): next_task marks the call.
            continue
        _done(task, _call(instance, task))


def _serve_threaded(instance: Any, max_concurrency: int) -> None:
    # Calls handed to the pool and not finished: True once the node cancelled them.
    pending: dict = {}

    def run_one(task: tuple) -> None:
        task_id = task[_TASK_ID]
        try:
            if pending.get(task_id):  # Cancelled while it waited for a thread: not run.
                _done(task, _cancelled_result(task[_NAME]))
                return
            _rayx.set_current_task(task_id)
            results = _call(instance, task)
            # Gone from pending before it reports: the last call of a burst sends every report
            # that waits, its own with them.
            pending.pop(task_id, None)
            _done(task, results, bool(pending))
        finally:
            pending.pop(task_id, None)

    _rayx.enable_cancel_notices()
    pool = ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="rayx-actor")
    while True:
        task = _next_task()
        if task is None:
            break
        if type(task) is bytes:
            if task in pending:
                pending[task] = True
            continue
        pending[task[_TASK_ID]] = False
        pool.submit(run_one, task)
    pool.shutdown(wait=False)


async def _collect(output: Any) -> Any:
    """An async generator's items, as a generator (checked against num_returns as a sync one)."""
    items = [value async for value in output]
    return _as_generator(items)


def _as_generator(items: list) -> Any:
    yield from items


def _serve_async(instance: Any, max_concurrency: int) -> None:
    global serving_async
    serving_async = True
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    slots = asyncio.Semaphore(max_concurrency)
    # Call id -> its asyncio task once it began (None until then), from start until it reported.
    running: dict = {}
    cancelled_early: set = set()  # Calls cancelled before their task began.
    # The calls' reports wait for the others of the same turn of the loop, and go together when
    # flush_results runs at the start of the next turn (one message to the node for many calls).
    flush_due = False
    # What the reader thread took from the engine and the loop has yet to see, in order; the
    # reader wakes the loop only when no wake-up is on its way already (arrival_due).
    arrived: collections.deque = collections.deque()
    arrival_due = False

    async def invoke(task: tuple) -> list:
        name = task[_NAME]
        try:
            method, args, kwargs, generator = _prepare(instance, task)
            output = method(*args, **kwargs)
            if type(output) is _CoroutineType and generator is None:  # The common call.
                output = await output
            else:
                if generator is not None and inspect.isasyncgen(output):
                    return await wm.stream_items_async(task[_TASK_ID], name, output, generator)
                if generator is not None:
                    return wm.stream_items(task[_TASK_ID], name, output, generator)
                if inspect.isasyncgen(output):  # A fixed num_returns: the items are returns.
                    output = await _collect(output)
                if inspect.isawaitable(output):
                    output = await output
            if type(output) in _PLAIN_TYPES and len(task[_RETURNS]) == 1:
                return [(VALUE, _dumps(output, 5), _NONE, _NONE)]  # The common return.
            return wm._serialize_returns(name, output, len(task[_RETURNS]))
        except task_args.DependencyFailed as failed:
            return [failed.triple]
        except (KeyboardInterrupt, asyncio.CancelledError):
            return _cancelled_result(name)
        except Exception as e:
            return [wm._error_result(name, e)]
        finally:
            wm._flush()

    def flush() -> None:
        nonlocal flush_due
        flush_due = False
        _rayx.flush_results()

    async def run_one(task: tuple) -> None:
        nonlocal flush_due
        task_id = task[_TASK_ID]
        running[task_id] = asyncio.current_task()  # No await before the try: cancels land inside.
        try:
            if (len(task) > _CANCELLED and task[_CANCELLED]) or task_id in cancelled_early:
                results = _cancelled_result(task[_NAME])  # Cancelled before it began.
            else:
                async with slots:
                    results = await invoke(task)
        except asyncio.CancelledError:  # Cancelled while it waited for a slot.
            results = _cancelled_result(task[_NAME])
        finally:
            running.pop(task_id, None)
            cancelled_early.discard(task_id)
        if _report(task_id, results, True, _REPORT_AFTER_FLUSH) and not flush_due:
            flush_due = True  # It waits for the others of this turn of the loop.
            loop.call_soon(flush)

    def start(task: tuple) -> None:
        running[task[_TASK_ID]] = None
        loop.create_task(run_one(task))

    def cancel(task_id: bytes) -> None:
        if task_id not in running:
            return  # Reported already.
        call = running[task_id]
        if call is None:
            # A task cancelled before its first step would end without running run_one at all
            # (and never report): it is told when it begins instead.
            cancelled_early.add(task_id)
        else:
            call.cancel()  # asyncio.CancelledError where the call waits (Ray's semantics).

    def take_arrived() -> None:
        nonlocal arrival_due
        arrival_due = False  # Before the first pop: what comes after it wakes the loop again.
        while arrived:
            task = arrived.popleft()
            if task is None:
                loop.stop()
                return
            if type(task) is bytes:
                cancel(task)
            else:
                start(task)

    def read() -> None:
        nonlocal arrival_due
        while True:
            task = _next_task()
            arrived.append(task)
            if not arrival_due:  # Read after the append: a take_arrived to come will see it.
                arrival_due = True
                loop.call_soon_threadsafe(take_arrived)
            if task is None:
                return

    _rayx.enable_cancel_notices()

    threading.Thread(target=read, name="rayx-actor-reader", daemon=True).start()
    loop.run_forever()
