"""`inspect_serializability`: finds what keeps an object from being serialized, as Ray's does.

It tries to serialize the object as rayx does (cloudpickle, with this process's custom
serializers, ray.util.register_serializer); when that fails it looks, to a given depth, into a
function's globals and closure variables, or an object's members, and reports the innermost
values that fail.
"""

from __future__ import annotations

import contextlib
import inspect
import sys
from typing import Any, Iterator, Optional

from rayx._private import serialization

__all__ = ["FailureTuple", "inspect_serializability"]


class FailureTuple:
    """One value that failed to serialize: the value, its variable name, and what holds it."""

    def __init__(self, obj: Any, name: str, parent: Any):
        self.obj = obj
        self.name = name
        self.parent = parent

    def __repr__(self) -> str:
        return f"FailTuple({self.name} [obj={self.obj}, parent={self.parent}])"


class _Printer:
    def __init__(self, print_file: Any):
        self.level = 0
        self.print_file = print_file
        out = print_file if print_file is not None else sys.stdout
        self._color = bool(getattr(out, "isatty", lambda: False)())

    def red(self, text: str) -> str:
        return f"\033[31m{text}\033[39m" if self._color else text

    def bright(self, text: str) -> str:
        return f"\033[1m{text}\033[0m" if self._color else text

    def indent(self) -> contextlib.AbstractContextManager:
        return self._indent()

    @contextlib.contextmanager
    def _indent(self) -> Iterator[None]:
        self.level += 1
        try:
            yield
        finally:
            self.level -= 1

    def print(self, msg: str) -> None:
        print("    " * self.level + msg, file=self.print_file)


def inspect_serializability(
    base_obj: Any, name: Optional[str] = None, depth: int = 3, print_file: Any = None
) -> tuple[bool, set]:
    """Identifies what keeps base_obj from being serialized, printing what it tries.

    Args:
        base_obj: the object to check (a function, class or any value).
        name: its name in the report (default: str(base_obj)).
        depth: how deep to look into the object's members and variables.
        print_file: where to print (default: stdout).

    Returns:
        (True, set()) when base_obj serializes; otherwise (False, failures), a set of
        `FailureTuple`.
    """
    printer = _Printer(print_file)
    return _inspect_serializability(base_obj, name, depth, None, None, printer)


def _inspect_func_serialization(base_obj, depth, parent, failure_set, printer) -> bool:
    closure = inspect.getclosurevars(base_obj)
    found = False
    if closure.globals:
        printer.print(
            f"Detected {len(closure.globals)} global variables. Checking serializability..."
        )
        with printer.indent():
            for name, obj in closure.globals.items():
                serializable, _ = _inspect_serializability(
                    obj, name, depth - 1, parent, failure_set, printer
                )
                found = found or not serializable
                if found:
                    break
    if closure.nonlocals:
        printer.print(
            f"Detected {len(closure.nonlocals)} nonlocal variables. Checking serializability..."
        )
        with printer.indent():
            for name, obj in closure.nonlocals.items():
                serializable, _ = _inspect_serializability(
                    obj, name, depth - 1, parent, failure_set, printer
                )
                found = found or not serializable
                if found:
                    break
    if not found:
        printer.print(
            f"WARNING: Did not find non-serializable object in {base_obj}. "
            "This may be an oversight."
        )
    return found


def _inspect_generic_serialization(base_obj, depth, parent, failure_set, printer) -> bool:
    functions = inspect.getmembers(base_obj, predicate=inspect.isfunction)
    found = False
    with printer.indent():
        for name, obj in functions:
            serializable, _ = _inspect_serializability(
                obj, name, depth - 1, parent, failure_set, printer
            )
            found = found or not serializable
            if found:
                break
    with printer.indent():
        for name, obj in inspect.getmembers(base_obj):
            if name.startswith("__") and name.endswith("__") or inspect.isbuiltin(obj):
                continue
            serializable, _ = _inspect_serializability(
                obj, name, depth - 1, parent, failure_set, printer
            )
            found = found or not serializable
            if found:
                break
    if not found:
        printer.print(
            f"WARNING: Did not find non-serializable object in {base_obj}. "
            "This may be an oversight."
        )
    return found


def _inspect_serializability(base_obj, name, depth, parent, failure_set, printer):
    top_level = False
    declaration = ""
    found = False
    if failure_set is None:
        top_level = True
        failure_set = set()
        declaration = f"Checking Serializability of {base_obj}"
        printer.print("=" * min(len(declaration), 80))
        printer.print(declaration)
        printer.print("=" * min(len(declaration), 80))
        if name is None:
            name = str(base_obj)
    else:
        printer.print(f"Serializing '{name}' {base_obj}...")
    try:
        serialization.serialize(base_obj, out_of_band=False)
        return True, failure_set
    except Exception as e:
        printer.print(f"{printer.red('!!! FAIL')} serialization: {e}")
        found = True
        try:
            if depth == 0:
                failure_set.add(FailureTuple(base_obj, name, parent))
        except Exception:  # Some objects cannot be hashed.
            pass

    if depth <= 0:
        return False, failure_set

    if inspect.isfunction(base_obj):
        _inspect_func_serialization(base_obj, depth, base_obj, failure_set, printer)
    else:
        _inspect_generic_serialization(base_obj, depth, base_obj, failure_set, printer)

    if not failure_set:
        failure_set.add(FailureTuple(base_obj, name, parent))

    if top_level:
        printer.print("=" * min(len(declaration), 80))
        fail_vars = "\n\n\t" + printer.bright("\n".join(str(k) for k in failure_set)) + "\n\n"
        printer.print(
            f"Variable: {fail_vars}was found to be non-serializable. There may be multiple "
            "other undetected variables that were non-serializable. "
        )
        printer.print(
            "Consider either removing the instantiation/imports of these variables or moving "
            "the instantiation into the scope of the function/class. "
        )
        printer.print("=" * min(len(declaration), 80))
        printer.print(
            "Check https://docs.ray.io/en/master/ray-core/objects/serialization.html"
            "#troubleshooting for more information."
        )
        printer.print(
            "If you have any suggestions on how to improve this error message, please reach "
            "out to the Ray developers on github.com/ray-project/ray/issues/"
        )
        printer.print("=" * min(len(declaration), 80))
    return not found, failure_set
