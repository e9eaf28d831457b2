"""Actors: what ``@rayx.remote`` makes of a class, and the handles to the actors it creates.

``Cls.remote(*args)`` creates an actor (an instance of the class in a worker process of its own)
and returns an `ActorHandle` at once; ``handle.method.remote(*args)`` calls a method there and
returns an ObjectRef. The calls one caller makes run in the order made. Handles can be pickled
(passed to tasks and other actors, or captured in closures); each process counts its handles and
tells the engine when it begins or stops holding one. An actor lives while the process that
created it (its owner) is connected; a named actor also while any process holds a handle to it;
a detached one (``lifetime="detached"``) until it is killed. Dropping every handle while the owner
lives does not end the actor (Ray would end it).
"""

from __future__ import annotations

import importlib
import inspect
import pickle
from typing import Any, Callable, Optional

import _rayx

from rayx._private import options as options_lib
from rayx._private import current, serialization, task_args, worker
from rayx.object_ref import ObjectRef
from rayx.object_ref_generator import ObjectRefGenerator

__all__ = ["ActorClass", "ActorHandle", "ActorMethod", "method", "get_actor", "kill"]

# Ray's defaults for actors.
ACTOR_DEFAULTS: dict = {
    "num_cpus": None,
    "num_gpus": None,
    "resources": None,
    "memory": None,
    "name": None,
    "namespace": None,
    "lifetime": None,
    "get_if_exists": False,
    "max_restarts": 0,
    "max_task_retries": 0,
    "max_concurrency": None,
    "max_pending_calls": -1,
}

# Async actors run up to this many calls at once unless max_concurrency says otherwise.
DEFAULT_ASYNC_CONCURRENCY = 1000


def method(*args: Any, **kwargs: Any) -> Callable:
    """Sets options of an actor method: ``@rayx.method(num_returns=2)``.

    Raises:
        ValueError: an option other than num_returns (and the accepted concurrency_group), or a
            bad value.
    """
    if args or not kwargs:
        raise ValueError("@rayx.method takes keyword options only, e.g. @rayx.method(num_returns=2).")
    for name in kwargs:
        if name not in ("num_returns", "concurrency_group"):
            raise ValueError(f"Invalid option keyword {name} for actor methods.")
    if "num_returns" in kwargs:
        options_lib.validate_options("task", {"num_returns": kwargs["num_returns"]})

    def decorate(function: Callable) -> Callable:
        if kwargs.get("num_returns") is not None:
            function.__rayx_num_returns__ = kwargs["num_returns"]
        return function

    return decorate


def actor_resources(actor_options: dict) -> tuple[dict, dict]:
    """Returns ``(placement, lifetime)``: what placing the actor takes and what it holds after.

    As in Ray: an actor that names no resource takes 1 CPU to be placed and holds nothing while it
    lives; otherwise it takes and holds what it names (num_cpus, num_gpus, memory, resources).
    """
    lifetime: dict = {}
    num_cpus = actor_options.get("num_cpus")
    if num_cpus:
        lifetime["CPU"] = float(num_cpus)
    if actor_options.get("num_gpus"):
        lifetime["GPU"] = float(actor_options["num_gpus"])
    if actor_options.get("memory"):
        lifetime["memory"] = float(actor_options["memory"])
    for key, amount in (actor_options.get("resources") or {}).items():
        if amount > 0:
            lifetime[key] = float(amount)
    accelerator = options_lib.task_resources(
        {"num_cpus": 0, "accelerator_type": actor_options.get("accelerator_type")})
    lifetime.update(accelerator)  # accelerator_type:<type>, as for a task (or nothing).
    specified = num_cpus is not None or actor_options.get("num_gpus") or actor_options.get(
        "memory") or actor_options.get("resources")
    if not specified:
        return {"CPU": 1.0, **accelerator}, dict(accelerator)
    return dict(lifetime), lifetime


def class_meta(cls: type) -> dict:
    """What a handle needs to know of the class: its methods' num_returns and whether it is async."""
    methods: dict = {}
    is_async = False
    for name, member in inspect.getmembers(cls):
        if name.startswith("__") and name != "__call__":
            continue
        if not (inspect.isfunction(member) or inspect.ismethod(member)):
            continue
        is_generator = inspect.isgeneratorfunction(member) or inspect.isasyncgenfunction(member)
        # As in Ray, a generator method streams unless num_returns says otherwise.
        methods[name] = getattr(member, "__rayx_num_returns__", "streaming" if is_generator else 1)
        if inspect.iscoroutinefunction(member) or inspect.isasyncgenfunction(member):
            is_async = True
    return {"class_name": cls.__name__, "qualname": cls.__qualname__, "methods": methods,
            "is_async": is_async}


class ActorClass:
    """A class made remote by `rayx.remote`. ``.remote(...)`` creates an actor of it.

    Instantiating it directly raises TypeError.
    """

    def __init__(self, cls: type, actor_options: Optional[dict] = None):
        self._cls = cls
        self._default_options = options_lib.merged(
            ACTOR_DEFAULTS, options_lib.validate_options("actor", actor_options or {})
        )
        _check_actor_options(self._default_options)
        self._meta = class_meta(cls)
        self._meta_blob = pickle.dumps(self._meta)
        self._class_id: Optional[bytes] = None
        self._blob: Optional[bytes] = None
        self.__doc__ = cls.__doc__
        self.__name__ = cls.__name__
        self.__qualname__ = cls.__qualname__
        self.__module__ = cls.__module__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            "Actors cannot be instantiated directly. Instead of "
            f"'{self._cls.__name__}()', use '{self._cls.__name__}.remote()'."
        )

    def __repr__(self) -> str:
        return f"<rayx.ActorClass {self._cls.__module__}.{self._cls.__qualname__}>"

    def __getstate__(self) -> dict:
        return {"cls": self._cls, "options": self._default_options}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["cls"])
        self._default_options = state["options"]

    def remote(self, *args: Any, **kwargs: Any) -> "ActorHandle":
        """Creates an actor; returns its handle at once (the constructor runs in its worker)."""
        return self._remote(args, kwargs, self._default_options)

    def options(self, **actor_options: Any) -> "_ActorClassOptions":
        """Returns an object whose ``.remote()`` creates the actor with these options.

        Raises:
            ValueError: an option is unknown or has a bad value.
        """
        validated = options_lib.validate_options("actor", actor_options)
        merged = options_lib.merged(self._default_options, validated)
        _check_actor_options(merged)
        return _ActorClassOptions(self, merged)

    def _remote(self, args: tuple, kwargs: dict, actor_options: dict) -> "ActorHandle":
        worker.auto_init()
        if self._class_id is None:
            self._class_id, self._blob = serialization.serialize_function(self._cls)
        worker.export_function(self._class_id, self._blob)
        name = self._cls.__qualname__
        namespace = actor_options.get("namespace") or worker.current_namespace()
        placement, lifetime = actor_resources(actor_options)
        # Imported here: rayx.util imports rayx (and its name placement_group is the function).
        pg_lib = importlib.import_module("rayx.util.placement_group")

        group = pg_lib.resolve(actor_options)
        if group is None and pg_lib.capturable(actor_options) and current.capture_group:
            group = (pg_lib.PlacementGroup(pg_lib.PlacementGroupID(current.capture_group)), -1,
                     True)
        in_group = None
        if group is not None:  # The bundle's derived resources instead of the node's.
            placement_group, index, capture = group
            pg_hex = placement_group.id.hex()
            placement = pg_lib.bundle_demand(placement, pg_hex, index)
            lifetime = pg_lib.bundle_demand(lifetime, pg_hex, index) if lifetime else {}
            in_group = (placement_group.id.binary(), capture)
        # A creation task has no retry_exceptions: its place in the arguments carries what the
        # actor's worker tells of itself (rayx.get_runtime_context() there).
        actor_context = {
            "name": actor_options.get("name") or "",
            "namespace": namespace,
            "meta": self._meta,
            "resources": lifetime,
            "env_vars": options_lib.runtime_env_vars(actor_options),
            "placement_group": in_group,
        }
        encoded = task_args.encode_args(name, args, kwargs, actor_context, worker.put_serialized)
        blob = encoded.blob
        own_env = actor_options.get("runtime_env") or {}
        if own_env.get("working_dir") is not None or own_env.get("py_modules"):
            from rayx._private import runtime_env  # working_dir and py_modules: copied now.

            # Over what the creating task or actor passes on (Ray's runtime_env inheritance).
            blob = task_args.with_place(blob, runtime_env.child_place(runtime_env.prepare(own_env)))
        elif current.inherited_place is not None:  # Created inside a task with a runtime_env.
            blob = task_args.with_place(blob, current.inherited_place)
        max_concurrency = actor_options.get("max_concurrency")
        if max_concurrency is None:
            max_concurrency = DEFAULT_ASYNC_CONCURRENCY if self._meta["is_async"] else 1
        actor_id, meta_blob = _rayx.create_actor(
            self._class_id,
            name,
            blob,
            encoded.dependencies,
            encoded.contained,
            placement,
            lifetime,
            actor_options["max_restarts"],
            actor_options["max_task_retries"],
            max_concurrency,
            actor_options.get("name") or "",
            namespace,
            actor_options.get("lifetime") == "detached",
            bool(actor_options.get("get_if_exists")),
            self._meta_blob,
            _placement(actor_options.get("scheduling_strategy")),
        )
        del encoded
        meta = self._meta if meta_blob == self._meta_blob else pickle.loads(meta_blob)
        return ActorHandle(actor_id, meta)


def _placement(strategy: Any) -> Optional[tuple]:
    from rayx.util import scheduling_strategies  # Here: rayx.util imports rayx.

    return scheduling_strategies.placement(strategy)


def _check_actor_options(actor_options: dict) -> None:
    lifetime = actor_options.get("lifetime")
    if lifetime not in (None, "detached", "non_detached"):
        raise ValueError(
            "actor `lifetime` argument must be one of 'detached', 'non_detached' and 'None'."
        )
    if actor_options.get("get_if_exists") and not actor_options.get("name"):
        raise ValueError("The actor name must be specified to use `get_if_exists`.")


class _ActorClassOptions:
    """The result of ``Cls.options(...)``."""

    def __init__(self, actor_class: ActorClass, actor_options: dict):
        self._actor_class = actor_class
        self._options = actor_options

    def remote(self, *args: Any, **kwargs: Any) -> "ActorHandle":
        """Creates the actor with these options (see `ActorClass.remote`)."""
        return self._actor_class._remote(args, kwargs, self._options)

    def get_or_create(self, *args: Any, **kwargs: Any) -> "ActorHandle":
        """Returns the named actor of these options, creating it with these arguments if need be.

        The same as ``.options(..., get_if_exists=True).remote(*args, **kwargs)``: when an actor
        of this name lives in the namespace its handle is returned (the arguments are not used),
        else the actor is created.

        Raises:
            ValueError: the options name no actor.
        """
        if not self._options.get("name"):
            raise ValueError("The actor name must be specified to use `get_or_create`.")
        return self._actor_class._remote(args, kwargs, {**self._options, "get_if_exists": True})


class ActorHandle:
    """A handle to an actor: ``handle.method.remote(...)`` calls a method of the actor.

    Picklable: a handle passed to a task or another actor names the same actor there.
    """

    def __init__(self, actor_id: bytes, meta: dict):
        self._counted = False
        self._actor_id = actor_id
        self._meta = meta
        _rayx.add_actor_ref(actor_id)
        self._counted = True

    def __getattr__(self, name: str) -> "ActorMethod":
        meta = self.__dict__.get("_meta")
        if meta is None or name not in meta["methods"]:
            class_name = meta["class_name"] if meta else "actor"
            raise AttributeError(f"'{class_name}' actor has no method '{name}'")
        bound = ActorMethod(self, name, meta["methods"][name])
        self.__dict__[name] = bound  # Later lookups find it without __getattr__.
        # This first lookup may be on a temporary handle (``Cls.remote().f.remote()``): the
        # method returned holds the handle until the call is made, so the actor is not ended
        # before it. The cached one holds only the id (no cycle through the handle's dict).
        return ActorMethod(self, name, meta["methods"][name], hold_handle=True)

    def __repr__(self) -> str:
        return f"Actor({self._meta['class_name']}, {self._actor_id.hex()})"

    def __hash__(self) -> int:
        return hash(self._actor_id)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, ActorHandle) and other._actor_id == self._actor_id

    def __reduce__(self):
        # Recorded like an ObjectRef: the engine keeps the actor alive while the value or task
        # that carries this handle does (actor ids are 16 bytes, object ids 20).
        serialization.record_contained(self._actor_id)
        return (_rebuild_handle, (self._actor_id, self._meta))

    def __del__(self) -> None:
        try:
            if self._counted:
                _rayx.remove_actor_ref(self._actor_id)
        except BaseException:
            pass

    def _actor_id_hex(self) -> str:
        return self._actor_id.hex()


def _rebuild_handle(actor_id: bytes, meta: dict) -> ActorHandle:
    return ActorHandle(actor_id, meta)


class ActorMethod:
    """A method of an actor, from a handle: ``.remote(...)`` calls it."""

    def __init__(
        self,
        handle: ActorHandle,
        name: str,
        num_returns: int,
        call_name: str = "",
        hold_handle: bool = False,
    ):
        # Holds the actor id, not the handle: a cached method must not keep its handle alive.
        # hold_handle: keep the handle too (for a method looked up on a temporary handle).
        self._actor_id = handle._actor_id
        self._handle = handle if hold_handle else None
        self._name = name
        self._num_returns = num_returns
        self._call_name = call_name or f"{handle._meta['class_name']}.{name}"
        if type(num_returns) is str:  # A generator method: .remote() streams (no test per call).
            self.remote = self._remote_default_generator  # type: ignore[method-assign]

    def _remote_default_generator(self, *args: Any, **kwargs: Any) -> Any:
        return self._remote_generator(args, kwargs, self._num_returns, self._call_name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            f"Actor methods cannot be called directly. Instead of running 'object.{self._name}()', "
            f"try 'object.{self._name}.remote()'."
        )

    def remote(self, *args: Any, **kwargs: Any) -> Any:
        """Calls the method on the actor; returns ObjectRef(s) as num_returns says."""
        return self._remote(args, kwargs, self._num_returns, self._call_name)

    def options(self, **call_options: Any) -> "_ActorMethodOptions":
        """Overrides num_returns or name for one call.

        Raises:
            ValueError: another option, or a bad value.
        """
        for name in call_options:
            if name not in ("num_returns", "name", "concurrency_group"):
                raise ValueError(f"Invalid option keyword {name} for actor methods.")
        if "num_returns" in call_options:
            options_lib.validate_options("task", {"num_returns": call_options["num_returns"]})
        return _ActorMethodOptions(self, call_options)

    def _remote(self, args: tuple, kwargs: dict, num_returns: Any, call_name: str) -> Any:
        blob = task_args.plain_args_blob(args, kwargs, False)
        if blob is not None:  # Only builtin scalars (or nothing): no refs, nothing to put.
            encoded = None
            dependencies = contained = ()
        else:
            encoded = task_args.encode_args(call_name, args, kwargs, False, worker.put_serialized)
            blob, dependencies, contained = encoded.blob, encoded.dependencies, encoded.contained
        return_ids = _rayx.submit_actor_task(
            self._actor_id, self._name, call_name, blob, dependencies, contained, num_returns,
        )
        del encoded  # Large arguments put on the way are now held by the pending task.
        if num_returns == 1:
            return ObjectRef(return_ids[0])
        if num_returns == 0:
            return None
        return [ObjectRef(i) for i in return_ids]


    def _remote_generator(self, args: tuple, kwargs: dict, mode: str, call_name: str) -> Any:
        """Calls a generator method: an ObjectRefGenerator ("streaming") or the ref of a
        DynamicObjectRefGenerator ("dynamic"); see rayx.object_ref_generator."""
        encoded = task_args.encode_args(
            call_name, args, kwargs, task_args.TaskEnv(False, None, mode), worker.put_serialized
        )
        return_ids = _rayx.submit_actor_task(
            self._actor_id, self._name, call_name, encoded.blob, encoded.dependencies,
            encoded.contained, 1, True,
        )
        del encoded
        ref = ObjectRef(return_ids[0])
        return ref if mode == "dynamic" else ObjectRefGenerator(ref)


class _ActorMethodOptions:
    def __init__(self, actor_method: ActorMethod, call_options: dict):
        self._method = actor_method
        self._options = call_options

    def remote(self, *args: Any, **kwargs: Any) -> Any:
        num_returns = self._options.get("num_returns", self._method._num_returns)
        call_name = self._options.get("name") or self._method._call_name
        if type(num_returns) is str:  # "streaming" or "dynamic": a generator method.
            return self._method._remote_generator(args, kwargs, num_returns, call_name)
        return self._method._remote(args, kwargs, num_returns, call_name)


def get_actor(name: str, namespace: Optional[str] = None) -> ActorHandle:
    """Returns a handle to the live actor with this name in namespace (None: the current job's).

    Raises:
        ValueError: no live actor has this name there, or namespace is "".
        TypeError: namespace is not a string.
    """
    if not isinstance(name, str) or not name:
        raise ValueError("Please supply a non-empty value to get_actor")
    if namespace is not None:
        options_lib.validate_namespace(namespace)
    worker.auto_init()
    actor_id, meta_blob = _rayx.get_actor(name, namespace or worker.current_namespace())
    return ActorHandle(actor_id, pickle.loads(meta_blob))


def kill(actor: ActorHandle, *, no_restart: bool = True) -> None:
    """Ends the actor's process at once. Calls in flight and later fail with RayActorError.

    With no_restart=False, an actor with restarts left is restarted instead.

    Raises:
        ValueError: actor is not an ActorHandle.
    """
    if not isinstance(actor, ActorHandle):
        raise ValueError(
            f"rayx.kill() only supported for actors. For tasks, try rayx.cancel(). Got: {type(actor)}."
        )
    worker.auto_init()
    _rayx.kill_actor(actor._actor_id, bool(no_restart))
