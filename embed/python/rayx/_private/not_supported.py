"""What rayx does not implement of Ray's API, refused by name instead of with AttributeError.

The policy: a Ray name rayx lacks raises ``NotImplementedError("rayx does not support X yet:
...")`` when it is used (a function or class of `ray` or `ray.util`, through the modules'
``__getattr__``), and a Ray module or library rayx lacks raises ``ModuleNotFoundError`` (an
ImportError) with the same kind of message when it is imported (`ImportRefuser`, on
sys.meta_path). Only the common names are listed; anything else is Python's usual error.
"""

from __future__ import annotations

import sys
from typing import Any, Mapping, Optional

__all__ = ["refuse_name", "install_import_refuser", "NAMES_OF_RAY", "NAMES_OF_RAY_UTIL"]

_SEE = "(see the API compatibility table in rayx's README)"

# Names of `ray` rayx lacks, with why.
NAMES_OF_RAY: Mapping[str, str] = {
    "java_function": "rayx runs Python only",
    "java_actor_class": "rayx runs Python only",
    "cpp_function": "rayx runs Python only",
    "client": "rayx has no Ray Client; attach with rayx.init(address=...) on the member's machine",
    "show_in_dashboard": "rayx has no dashboard",
}

# Names of `ray.util` rayx lacks, with why: none of the common ones now.
NAMES_OF_RAY_UTIL: Mapping[str, str] = {}

_LIBRARIES = "rayx implements Ray Core (tasks, actors, objects) only, not Ray's libraries"

# Modules below `ray` rayx lacks, with why; a submodule of one is refused too.
MODULES: Mapping[str, str] = {
    "data": _LIBRARIES,
    "train": _LIBRARIES,
    "tune": _LIBRARIES,
    "serve": _LIBRARIES,
    "rllib": _LIBRARIES,
    "air": _LIBRARIES,
    "workflow": _LIBRARIES,
    "dag": "Ray's compiled graphs and DAG API are not implemented",
    "job_submission": "rayx has no job server; run jobs with `rayx run`",
    "util.state": "rayx has no state API; `rayx status` and `rayx jobs` show nodes and jobs",
    "util.collective": "collective communication is not implemented",
    "util.metrics": "custom metrics are not implemented",
}


def refuse_name(module: str, name: str, names: Mapping[str, str]) -> Any:
    """The body of a module's ``__getattr__``: NotImplementedError for a listed name, else the
    AttributeError Python would raise (so that hasattr and submodule imports still work)."""
    why = names.get(name)
    if why is not None:
        raise NotImplementedError(f"rayx does not support {module}.{name} yet: {why} {_SEE}.")
    raise AttributeError(f"module {module!r} has no attribute {name!r}")


class ImportRefuser:
    """A sys.meta_path finder, last in line: refuses the modules of MODULES under ray and rayx."""

    @classmethod
    def find_spec(cls, fullname: str, path: Optional[Any] = None, target: Optional[Any] = None):
        top, _, rest = fullname.partition(".")
        if top not in ("ray", "rayx") or not rest:
            return None
        for module, why in MODULES.items():
            if rest == module or rest.startswith(module + "."):
                raise ModuleNotFoundError(
                    f"rayx does not support ray.{module} yet: {why} {_SEE}.", name=fullname
                )
        return None

    @classmethod
    def invalidate_caches(cls) -> None:
        pass


def install_import_refuser() -> None:
    """Appends ImportRefuser to sys.meta_path once (after every finder that could serve)."""
    if not any(finder is ImportRefuser for finder in sys.meta_path):
        sys.meta_path.append(ImportRefuser)
