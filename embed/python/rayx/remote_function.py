"""`RemoteFunction`: what ``@rayx.remote`` makes of a function.

``f.remote(*args, **kwargs)`` submits a task and returns its ObjectRef(s) at once;
``f.options(**options).remote(...)`` does the same with some options overridden for that call.
The function is pickled (cloudpickle) on first use and exported once per connection.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from typing import Any, Callable, Optional, Union

import _rayx

from rayx._private import options as options_lib
from rayx._private import current, serialization, task_args, worker
from rayx.object_ref import ObjectRef
from rayx.object_ref_generator import ObjectRefGenerator

__all__ = ["RemoteFunction"]


class RemoteFunction:
    """A function that runs as a task on a worker. Made by `rayx.remote`; do not build it directly.

    Calling it directly raises TypeError: use ``.remote()``.
    """

    def __init__(self, function: Callable, task_options: Optional[dict] = None):
        self._function = function
        validated = options_lib.validate_options("task", task_options or {})
        defaults = options_lib.TASK_DEFAULTS
        if validated.get("num_returns") is None and inspect.isgeneratorfunction(function):
            defaults = {**defaults, "num_returns": "streaming"}  # As in Ray: it streams.
        self._default_options = options_lib.merged(defaults, validated)
        self._blob: Optional[bytes] = None
        self._function_id: Optional[bytes] = None
        # The exported-functions set of the connection this function was last exported on:
        # while it is still the current one, the function needs no export.
        self._exported_in: Optional[set] = None
        self._default_call: Optional[_CallInfo] = None
        functools.update_wrapper(self, function, updated=())
        self._bind_generator()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        name = self._function.__name__
        raise TypeError(
            "Remote functions cannot be called directly. Instead "
            f"of running '{name}()', try '{name}.remote()'."
        )

    def __repr__(self) -> str:
        return f"<rayx.RemoteFunction {self._function.__module__}.{self._function.__qualname__}>"

    def __getstate__(self) -> dict:
        # Pickled inside functions that call it (e.g. recursive tasks): not the cached blob.
        return {"_function": self._function, "_default_options": self._default_options}

    def __setstate__(self, state: dict) -> None:
        self._function = state["_function"]
        self._default_options = state["_default_options"]
        self._blob = None
        self._function_id = None
        self._exported_in = None
        self._default_call = None
        functools.update_wrapper(self, self._function, updated=())
        self._bind_generator()

    def _bind_generator(self) -> None:
        # A generator task by default: .remote() is the generator's submission, so that the
        # ordinary .remote() has no test to make.
        if isinstance(self._default_options["num_returns"], str):
            self.remote = self._remote_default_generator  # type: ignore[method-assign]

    def _remote_default_generator(self, *args: Any, **kwargs: Any) -> Any:
        call = self._default_call
        if call is None:
            call = self._default_call = _CallInfo(self._function, self._default_options)
        return self._remote_generator(args, kwargs, call)

    def remote(self, *args: Any, **kwargs: Any) -> Union[ObjectRef, list, None]:
        """Submits a task that calls the function with these arguments.

        Returns:
            An ObjectRef for num_returns=1, a list of num_returns ObjectRefs for more, None for 0;
            an ObjectRefGenerator for num_returns="streaming" (a generator function's default),
            an ObjectRef of a DynamicObjectRefGenerator for "dynamic".
        """
        call = self._default_call
        if call is None:
            call = self._default_call = _CallInfo(self._function, self._default_options)
        return self._remote(args, kwargs, call)

    def options(self, **task_options: Any) -> "_OptionsWrapper":
        """Returns an object whose ``.remote()`` submits with these options overriding the defaults.

        Raises:
            ValueError: an option is unknown or has a bad value.
        """
        validated = options_lib.validate_options("task", task_options)
        return _OptionsWrapper(self, options_lib.merged(self._default_options, validated))

    def _export(self) -> bytes:
        if self._function_id is None:
            self._function_id, self._blob = serialization.serialize_function(self._function)
        exported_in = worker.state.exported_functions
        worker.export_function(self._function_id, self._blob)
        self._exported_in = exported_in
        return self._function_id

    def _remote(self, args: tuple, kwargs: dict, call: "_CallInfo") -> Union[ObjectRef, list, None]:
        state = worker.state
        if call.capturable and current.capture_group is not None:
            call = call.captured(current.capture_group)  # In the parent's placement group.
        if state.mode is None:
            worker.auto_init()
        if self._exported_in is state.exported_functions:
            function_id = self._function_id
        else:
            function_id = self._export()
        # The args blob: constant for a call without arguments, plain pickle for builtin scalars.
        if args or kwargs:
            blob = task_args.plain_args_blob(args, kwargs, call.retry_exceptions)
        else:
            blob = call.no_args_blob
        if blob is not None:
            dependencies = contained = _NO_IDS
            encoded = None
        else:
            encoded = task_args.encode_args(
                call.name, args, kwargs, call.retry_exceptions, worker.put_serialized
            )
            blob, dependencies, contained = encoded.blob, encoded.dependencies, encoded.contained
        if call.runtime_env is not None:
            blob = call.with_place(blob)
        elif current.inherited_place is not None:  # In a task or actor with a runtime_env.
            blob = task_args.with_place(blob, current.inherited_place)
        num_returns = call.num_returns
        return_ids = _rayx.submit_task(
            function_id,
            call.name,
            blob,
            _NO_IDS,
            dependencies,
            contained,
            num_returns,
            call.resources,
            call.max_retries,
            call.retry,
            call.placement,
        )
        del encoded  # Large arguments put on the way are now held by the pending task.
        if num_returns == 1:
            return ObjectRef(return_ids[0])
        refs = [ObjectRef(i) for i in return_ids]
        if num_returns == 0:
            return None
        return refs


    def _remote_generator(
        self, args: tuple, kwargs: dict, call: "_CallInfo"
    ) -> Union[ObjectRefGenerator, ObjectRef]:
        """Submits a generator task (num_returns "streaming" or "dynamic"): through the node, which
        keeps it on this node (see rayx.object_ref_generator)."""
        if worker.state.mode is None:
            worker.auto_init()
        if call.capturable and current.capture_group is not None:
            call = call.captured(current.capture_group)
        function_id = self._export()
        encoded = task_args.encode_args(
            call.name, args, kwargs, call.retry_exceptions, worker.put_serialized
        )
        blob = call.with_place(encoded.blob)
        return_ids = _rayx.submit_task(
            function_id, call.name, blob, _NO_IDS, encoded.dependencies,
            encoded.contained, 1, call.resources, call.max_retries, call.retry, call.placement,
            True,
        )
        del encoded
        ref = ObjectRef(return_ids[0])
        return ref if call.generator == "dynamic" else ObjectRefGenerator(ref)


# No argument buffers, dependencies or contained refs: what submit_task gets for plain arguments.
_NO_IDS = ()


class _CallInfo:
    """What submit_task needs from a function's options, computed once per options.

    Only what depends on the call itself (its arguments) is computed per ``.remote()``.
    The resources dict is shared by every submission with these options: submit_task only
    reads it.
    """

    __slots__ = (
        "name", "num_returns", "resources", "max_retries", "retry_exceptions", "retry",
        "no_args_blob", "placement", "generator", "capturable", "_function", "_options",
        "_captured", "runtime_env", "place",
    )

    def __init__(self, function: Callable, task_options: dict, group: Optional[tuple] = None):
        """group: ``(placement group, bundle index, capture)`` to place the task in; None for
        the one the options name, if any."""
        # Imported here: rayx.util imports rayx (and its name placement_group is the function).
        pg_lib = importlib.import_module("rayx.util.placement_group")

        self._function = function
        self._options = task_options
        self._captured: Optional[tuple] = None
        if group is None:
            group = pg_lib.resolve(task_options)
        # With no group of its own, a call is placed in its parent's when that captures.
        self.capturable = group is None and pg_lib.capturable(task_options)
        self.name = task_options.get("name") or function.__qualname__
        self.num_returns = task_options["num_returns"]
        # "streaming" or "dynamic": a generator task, whose one return ends its stream of items.
        self.generator = self.num_returns if isinstance(self.num_returns, str) else None
        self.resources = options_lib.task_resources(task_options)
        self.max_retries = task_options["max_retries"]
        retry_exceptions = task_options["retry_exceptions"]
        if isinstance(retry_exceptions, list):
            retry_exceptions = tuple(retry_exceptions)
        self.retry = retry_exceptions is not False
        env_vars = options_lib.runtime_env_vars(task_options)
        in_group = None
        if group is not None:  # The bundle's derived resources instead of the node's.
            placement_group, index, capture = group
            self.resources = pg_lib.bundle_demand(self.resources, placement_group.id.hex(), index)
            in_group = (placement_group.id.binary(), capture)
        if env_vars or self.generator or in_group:  # Env vars: set in the worker for the run.
            retry_exceptions = task_args.TaskEnv(
                retry_exceptions, env_vars, self.generator, in_group)
        self.retry_exceptions = retry_exceptions
        from rayx.util import scheduling_strategies  # Here: rayx.util imports rayx.

        self.placement = scheduling_strategies.placement(task_options.get("scheduling_strategy"))
        # The args blob of a call without arguments (None: encode_args makes it per call).
        self.no_args_blob = task_args.plain_args_blob((), {}, retry_exceptions)
        # working_dir and py_modules: copied at the first call (see with_place).
        runtime_env = task_options.get("runtime_env") or {}
        self.runtime_env = runtime_env if (
            runtime_env.get("working_dir") is not None or runtime_env.get("py_modules")
        ) else None
        self.place = None

    def with_place(self, blob: bytes) -> bytes:
        """The args blob wrapped with the place the task runs in: the copies of this
        runtime_env's working_dir and py_modules (made once per process and directory, at the
        first call) over what the calling task or actor passes on, as Ray's runtime_env
        inheritance has it (rayx._private.runtime_env.child_place)."""
        from rayx._private import runtime_env

        if self.runtime_env is None:
            return task_args.with_place(blob, current.inherited_place)
        if self.place is None:
            self.place = runtime_env.prepare(self.runtime_env)
        return task_args.with_place(blob, runtime_env.child_place(self.place))

    def captured(self, group_id: bytes) -> "_CallInfo":
        """These options for a child captured by its parent's placement group (any bundle)."""
        cached = self._captured
        if cached is not None and cached[0] == group_id:
            return cached[1]
        pg_lib = importlib.import_module("rayx.util.placement_group")

        group = pg_lib.PlacementGroup(pg_lib.PlacementGroupID(group_id))
        call = _CallInfo(self._function, self._options, (group, -1, True))
        self._captured = (group_id, call)
        return call


class _OptionsWrapper:
    """The result of ``f.options(...)``: a remote function with some options overridden."""

    def __init__(self, remote_function: RemoteFunction, task_options: dict):
        self._remote_function = remote_function
        self._options = task_options
        self._call = _CallInfo(remote_function._function, task_options)

    def remote(self, *args: Any, **kwargs: Any) -> Union[ObjectRef, list, None]:
        """Submits a task with the overridden options (see `RemoteFunction.remote`)."""
        if self._call.generator is not None:
            return self._remote_function._remote_generator(args, kwargs, self._call)
        return self._remote_function._remote(args, kwargs, self._call)

    def options(self, **task_options: Any) -> "_OptionsWrapper":
        """Overrides more options on top of these."""
        validated = options_lib.validate_options("task", task_options)
        return _OptionsWrapper(self._remote_function, options_lib.merged(self._options, validated))
