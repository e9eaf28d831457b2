"""Validation of `@remote` / `.options()` arguments, shared by remote functions and actors.

Each option Ray accepts is described once, with the kinds of remote object it applies to
("task", "actor") and whether rayx honours it, accepts it as the no-op it is here (silently), or
accepts it without acting on it (with a warning, once). Unknown options and bad values raise
ValueError naming the option, as Ray does; a value rayx cannot act on (a runtime_env key other
than env_vars, a non-empty label_selector) raises NotImplementedError naming it.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

__all__ = ["validate_options", "task_resources", "runtime_env_vars", "TASK_DEFAULTS"]


def _number(name: str, value: Any, minimum: float = 0.0) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"The option '{name}' must be a number, not {type(value).__name__}.")
    if value < minimum:
        raise ValueError(f"The option '{name}' must be >= {minimum:g}, got {value!r}.")


def _non_negative(name: str, value: Any) -> None:
    _number(name, value)


def _num_gpus(name: str, value: Any) -> None:
    _number(name, value)
    if value > 1 and int(value) != value:
        raise ValueError(f"The option '{name}' must be a whole number when above 1, got {value}.")


def _integer(minimum: int) -> Callable[[str, Any], None]:
    def check(name: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"The option '{name}' must be an integer, not {type(value).__name__}.")
        if value < minimum:
            raise ValueError(f"The option '{name}' must be >= {minimum}, got {value}.")

    return check


GENERATOR_MODES = ("streaming", "dynamic")


# The node's limit (kMaxNumReturns in engine/wire/messages.h): it refuses a task with more.
_MAX_NUM_RETURNS = 65536


def _num_returns(name: str, value: Any) -> None:
    if isinstance(value, str):
        if value not in GENERATOR_MODES:
            raise ValueError(
                f"The option '{name}' must be an integer, 'streaming' or 'dynamic', got {value!r}."
            )
        return
    _integer(0)(name, value)
    if value > _MAX_NUM_RETURNS:
        raise ValueError(f"The option '{name}' must be <= {_MAX_NUM_RETURNS}, got {value}.")


def _string(name: str, value: Any) -> None:
    if not isinstance(value, str):
        raise ValueError(f"The option '{name}' must be a string, not {type(value).__name__}.")


def _bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"The option '{name}' must be True or False, not {value!r}.")


def _resources(name: str, value: Any) -> None:
    if not isinstance(value, Mapping):
        raise ValueError(f"The option '{name}' must be a dict, not {type(value).__name__}.")
    for key, amount in value.items():
        if not isinstance(key, str):
            raise ValueError(f"The option '{name}' has a non-string resource name {key!r}.")
        if key in ("CPU", "GPU"):
            raise ValueError(
                f"Use the 'num_cpus' and 'num_gpus' keyword instead of 'CPU' and 'GPU' "
                f"in '{name}' keyword."
            )
        _number(f"{name}[{key!r}]", amount)


def _retry_exceptions(name: str, value: Any) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, (list, tuple)) and all(
        isinstance(t, type) and issubclass(t, BaseException) for t in value
    ):
        return
    raise ValueError(
        f"The option '{name}' must be a bool or a list of exception types, got {value!r}."
    )


def _anything(name: str, value: Any) -> None:
    pass


def _not_supported(what: str, why: str) -> NotImplementedError:
    return NotImplementedError(
        f"rayx does not support {what} yet: {why} (see the API compatibility table in rayx's "
        "README)."
    )


def _runtime_env(name: str, value: Any) -> None:
    # Ray's runtime_env; rayx applies env_vars (see runtime_env_vars), and working_dir, py_modules
    # and excludes for local directories (rayx._private.runtime_env), nothing else yet.
    from rayx._private import runtime_env

    if not isinstance(value, Mapping):
        raise ValueError(f"The option '{name}' must be a dict, not {type(value).__name__}.")
    for key, entry in value.items():
        if key in runtime_env.KEYS:
            continue
        if key != "env_vars":
            raise _not_supported(
                f"runtime_env key {key!r}",
                "only 'env_vars', 'working_dir', 'py_modules' and 'excludes' are applied (tasks "
                "run in the driver's Python environment)",
            )
        if not isinstance(entry, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in entry.items()
        ):
            raise TypeError("runtime_env['env_vars'] must be a dict of str to str.")
    runtime_env.check(value)  # A path that is not a local directory is an error here, at the call.


def validate_namespace(namespace: Any) -> None:
    """Checks a namespace as Ray does: a non-empty string.

    Raises:
        TypeError: not a string.
        ValueError: the empty string.
    """
    if not isinstance(namespace, str):
        raise TypeError(f"namespace must be None or a string, not {type(namespace).__name__}.")
    if namespace == "":
        raise ValueError('"" is not a valid namespace. Pass None to not specify a namespace.')


def _namespace(name: str, value: Any) -> None:
    validate_namespace(value)


def _label_selector(name: str, value: Any) -> None:
    if not isinstance(value, Mapping):
        raise ValueError(f"The option '{name}' must be a dict, not {type(value).__name__}.")
    if value:
        raise _not_supported("label_selector", "rayx nodes have no labels to select")


def _placement_group(name: str, value: Any) -> None:
    from rayx.util.placement_group import PlacementGroup

    # "default" (Ray's default: none, or the parent's when it captures child tasks) or a group.
    if value != "default" and not isinstance(value, PlacementGroup):
        raise ValueError(
            f"The option '{name}' must be a PlacementGroup or 'default', got {value!r}."
        )


def _scheduling_strategy(name: str, value: Any) -> None:
    # "DEFAULT", "SPREAD" or a ray.util.scheduling_strategies class; on one node, all place alike.
    from rayx.util import scheduling_strategies

    scheduling_strategies.check(name, value)


@dataclass(frozen=True)
class _Option:
    check: Callable[[str, Any], None]
    applies_to: frozenset
    supported: bool = True  # False: accepted but not acted on, with a warning (once).


_TASK = frozenset({"task"})
_ACTOR = frozenset({"actor"})
_BOTH = frozenset({"task", "actor"})

_OPTIONS: dict[str, _Option] = {
    "num_cpus": _Option(_non_negative, _BOTH),
    "num_gpus": _Option(_num_gpus, _BOTH),
    "resources": _Option(_resources, _BOTH),
    "memory": _Option(_non_negative, _BOTH),
    "name": _Option(_string, _BOTH),
    "num_returns": _Option(_num_returns, _TASK),
    "max_retries": _Option(_integer(-1), _TASK),
    "retry_exceptions": _Option(_retry_exceptions, _TASK),
    "max_restarts": _Option(_integer(-1), _ACTOR),
    "max_task_retries": _Option(_integer(-1), _ACTOR),
    "max_concurrency": _Option(_integer(1), _ACTOR),
    "namespace": _Option(_namespace, _ACTOR),
    "lifetime": _Option(_anything, _ACTOR),
    "get_if_exists": _Option(_bool, _ACTOR),
    "max_pending_calls": _Option(_integer(-1), _ACTOR),
    "scheduling_strategy": _Option(_scheduling_strategy, _BOTH),
    # A resource "accelerator_type:<type>" of 0.001, as in Ray: only nodes that declare it run it.
    "accelerator_type": _Option(_string, _BOTH),
    "runtime_env": _Option(_runtime_env, _BOTH),
    "label_selector": _Option(_label_selector, _BOTH),
    "placement_group": _Option(_placement_group, _BOTH),
    # With placement_group (rayx.util.placement_group.resolve).
    "placement_group_bundle_index": _Option(_integer(-1), _BOTH),
    "placement_group_capture_child_tasks": _Option(_bool, _BOTH),
    # No-ops here, as they are in Ray for what rayx does: accepted silently.
    "enable_task_events": _Option(_bool, _BOTH),  # rayx keeps no task events to disable.
    "_metadata": _Option(_anything, _BOTH),  # Ray's libraries' private annotations.
    # Accepted for compatibility; rayx does not act on them (a warning, once).
    "object_store_memory": _Option(_non_negative, _BOTH, supported=False),
    "max_calls": _Option(_integer(0), _TASK, supported=False),
    "concurrency_groups": _Option(_anything, _ACTOR, supported=False),
}

# The resource Ray's accelerator_type option asks for: a sliver, so any node that has it fits.
ACCELERATOR_TYPE_PREFIX = "accelerator_type:"
_ACCELERATOR_TYPE_AMOUNT = 0.001

# Ray's defaults for tasks (DESIGN.md: "Ray's defaults hold unless a reason is written down").
TASK_DEFAULTS: dict[str, Any] = {
    "num_cpus": 1,
    "num_gpus": 0,
    "resources": None,
    "memory": None,
    "name": None,
    "num_returns": 1,
    "max_retries": 3,
    "retry_exceptions": False,
}

_warned: set = set()


def validate_options(kind: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """Checks options for a remote object of this kind ("task" or "actor").

    Returns them as a new dict. Options that are accepted but not acted on warn once each.

    Raises:
        ValueError: an option is unknown, does not apply to this kind, or has a bad value.
    """
    for name, value in options.items():
        option = _OPTIONS.get(name)
        if option is None:
            raise ValueError(f"Invalid option keyword {name} for remote {_KIND_NAMES[kind]}s.")
        if kind not in option.applies_to:
            raise ValueError(
                f"Invalid option keyword {name} for remote {_KIND_NAMES[kind]}s: "
                f"it applies to {' and '.join(sorted(option.applies_to))}s only."
            )
        if value is None:
            continue  # None means "the default", as in Ray.
        option.check(name, value)
        if not option.supported and name not in _warned:
            _warned.add(name)
            warnings.warn(f"rayx ignores the option '{name}'.", stacklevel=3)
    return dict(options)


_KIND_NAMES = {"task": "function", "actor": "actor"}


def task_resources(options: Mapping[str, Any]) -> dict[str, float]:
    """Returns the resource request of a task: CPU, GPU, memory and custom resources.

    Zero amounts are left out. Missing options take `TASK_DEFAULTS`.
    """
    request: dict[str, float] = {}
    num_cpus = options.get("num_cpus")
    num_gpus = options.get("num_gpus")
    memory = options.get("memory")
    request["CPU"] = float(TASK_DEFAULTS["num_cpus"] if num_cpus is None else num_cpus)
    if num_gpus:
        request["GPU"] = float(num_gpus)
    if memory:
        request["memory"] = float(memory)
    for key, amount in (options.get("resources") or {}).items():
        request[key] = float(amount)
    if options.get("accelerator_type"):
        request[ACCELERATOR_TYPE_PREFIX + options["accelerator_type"]] = _ACCELERATOR_TYPE_AMOUNT
    return {k: v for k, v in request.items() if v > 0}


def runtime_env_vars(options: Mapping[str, Any]) -> Optional[dict]:
    """The env_vars of the options' runtime_env (already validated), or None when it has none."""
    runtime_env = options.get("runtime_env") or {}
    env_vars = runtime_env.get("env_vars")
    return dict(env_vars) if env_vars else None


def merged(defaults: Mapping[str, Any], overrides: Optional[Mapping[str, Any]]) -> dict[str, Any]:
    """Returns defaults updated with the overrides whose value is not None."""
    result = dict(defaults)
    for key, value in (overrides or {}).items():
        if value is not None:
            result[key] = value
    return result
