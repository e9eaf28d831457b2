"""runtime_env's ``working_dir`` and ``py_modules`` on one machine, as Ray's "Environment
Dependencies" guide describes them for local directories.

The submitting process checks each path at the call that names it (it must be an existing local
directory of at most 500 MiB; remote URIs and archives are refused by name) and copies it into
the node's session directory when the options are first used (init, an actor's creation, the
first call of a function's options), as Ray uploads it to the cluster: workers run in the copy,
so a later change to the directory does not reach the options that took it; a copy of the same
files (names, sizes, times) is shared, and the copies go when the node stops. A task's worker then runs with its current directory in the working
directory's copy, which is first on ``sys.path``, and with the parent of each py_modules copy on
``sys.path`` (so ``import pkg`` finds ``/local/dir/pkg``), for the task's run; an actor's worker
for good. Modules imported during a task stay imported in its worker (Python's sys.modules).

Inheritance, as Ray's "Inheritance" rules have it: a task or actor runs with its parent's
runtime_env (the running task's or actor's, or the job's: init's) unless it gives its own, and one
it gives overrides the parent's key by key, env_vars being merged name by name (the child's win).
So a child's place (`child_place`) is its parent's place updated with the keys its own
runtime_env names, plus the parent's env_vars, which the worker sets before the child's own. A
place always holds the job's directories unless overridden, so that a worker running a task with
a place of its own runs in that place instead of the job's (`apply`), not on top of it.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import types
from typing import Any, Mapping, Optional

__all__ = [
    "check", "prepare", "prepare_for_job", "apply", "restore", "set_job_place", "child_place",
    "KEYS", "JOB_PLACE_VARIABLE",
]

# The runtime_env keys this module applies.
KEYS = ("working_dir", "py_modules", "excludes")

# init's place (JSON), in the environment the embedded node's workers inherit.
JOB_PLACE_VARIABLE = "RAYX_JOB_RUNTIME_ENV_PLACE"

# Ray's limit on a local directory it uploads.
MAX_BYTES = 500 * 1024 * 1024

# The keys of a place that name directories (a place may also hold env_vars).
_DIRECTORY_KEYS = ("working_dir", "py_modules")

_lock = threading.Lock()
_copies_root: Optional[str] = None  # Where this process's copies go (see _root).
# The place of init's runtime_env for this process's job: what every worker of the job runs in
# unless a task's own place says otherwise (set_job_place). None: the job has none.
_job_place: Optional[dict] = None


def _not_supported(what: str, why: str) -> NotImplementedError:
    return NotImplementedError(
        f"rayx does not support {what} yet: {why} (see the API compatibility table in rayx's "
        "README)."
    )


def _source(key: str, value: Any) -> str:
    """The absolute local directory a working_dir or py_modules entry names.

    Raises:
        TypeError: not a string, a path or (py_modules) a module.
        NotImplementedError: a remote URI or an archive.
        ValueError: no such directory.
    """
    if key == "py_modules" and isinstance(value, types.ModuleType):
        file = getattr(value, "__file__", None)
        if not file:
            raise ValueError(f"runtime_env py_modules: module {value.__name__} has no __file__.")
        # A package is its directory; a plain module's file is not a directory (refused below).
        value = os.path.dirname(file) if os.path.basename(file) == "__init__.py" else file
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(
            f"runtime_env {key} entries must be local directory paths (str), not "
            f"{type(value).__name__}."
        )
    path = os.fspath(value)
    if "://" in path:
        raise _not_supported(
            f"the remote runtime_env {key} URI {path!r}",
            "only local directories on this machine are used",
        )
    if path.endswith((".zip", ".whl", ".tar.gz", ".tgz")):
        raise _not_supported(
            f"the runtime_env {key} archive {path!r}", "only local directories are used"
        )
    absolute = os.path.abspath(os.path.expanduser(path))
    if not os.path.isdir(absolute):
        what = "is not a directory" if os.path.exists(absolute) else "does not exist"
        raise ValueError(f"runtime_env {key} {path!r} {what} (as {absolute!r}).")
    return absolute


def check(runtime_env: Mapping) -> None:
    """Checks the working_dir, py_modules and excludes of a runtime_env (see `_source`)."""
    if runtime_env.get("working_dir") is not None:
        _source("working_dir", runtime_env["working_dir"])
    modules = runtime_env.get("py_modules")
    if modules is not None:
        if not isinstance(modules, (list, tuple)):
            raise TypeError("runtime_env py_modules must be a list of local directory paths.")
        for entry in modules:
            _source("py_modules", entry)
    excludes = runtime_env.get("excludes")
    if excludes is not None and (
        not isinstance(excludes, (list, tuple)) or not all(isinstance(e, str) for e in excludes)
    ):
        raise TypeError("runtime_env excludes must be a list of strings.")


def _excluded(relative: str, excludes: tuple) -> bool:
    import fnmatch

    name = os.path.basename(relative)
    return any(
        fnmatch.fnmatch(relative, pattern.strip("/")) or fnmatch.fnmatch(name, pattern)
        for pattern in excludes
    )


def _root() -> str:
    """The directory this process's copies go to: under the node's session directory (init's,
    made before its node starts, go to a directory of the driver's own: see prepare_for_job)."""
    global _copies_root
    if _copies_root is None or not os.path.isdir(_copies_root):  # None yet, or an earlier node's.
        from rayx._private import worker  # Here: worker imports this module's package.

        spill_dir = worker.object_store_stats().get("spill_dir") or ""
        session = os.path.dirname(spill_dir)
        if not spill_dir or not os.path.isdir(session):
            raise _not_supported(
                "runtime_env working_dir and py_modules for a driver on another machine than "
                "its node",
                "the copies are made in the node's session directory",
            )
        _copies_root = os.path.join(session, "runtime_env")
        os.makedirs(_copies_root, exist_ok=True)
    return _copies_root


def _fingerprint(key: str, source: str, excludes: tuple) -> str:
    """A digest of what a copy of source would hold (names, sizes and modification times).

    Raises:
        ValueError: more than MAX_BYTES of files.
    """
    digest = hashlib.sha1(repr((key, source, excludes)).encode())
    total = 0
    for directory, dirs, files in os.walk(source):
        dirs.sort()
        for names in (dirs, files):
            kept = [n for n in sorted(names) if not (excludes and _excluded(
                os.path.relpath(os.path.join(directory, n), source), excludes))]
            names[:] = kept
        for name in files:
            try:
                st = os.lstat(os.path.join(directory, name))
            except OSError:
                continue
            total += st.st_size
            if total > MAX_BYTES:
                raise ValueError(
                    f"runtime_env {key} {source!r} is larger than {MAX_BYTES >> 20} MiB, Ray's "
                    "limit for a local directory (use excludes to leave files out)."
                )
            relative = os.path.relpath(os.path.join(directory, name), source)
            digest.update(f"{relative}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def _copy(key: str, source: str, excludes: tuple) -> str:
    """Copies source (a directory) into the node's session directory, once per content: a copy
    of the same files (names, sizes, times) is used again."""
    with _lock:
        name = os.path.basename(source.rstrip("/")) or "root"
        # py_modules: the copy keeps the directory's name (import pkg), in a folder of its own.
        target = os.path.join(_root(), _fingerprint(key, source, excludes)[:20], name)
        if os.path.isdir(target):
            return target

        def ignore(directory: str, names: list) -> list:
            if not excludes:
                return []
            return [n for n in names
                    if _excluded(os.path.relpath(os.path.join(directory, n), source), excludes)]

        import shutil  # Here, not at import: with bz2 and lzma it costs every process 5 ms.

        staging = f"{target}.tmp{os.getpid()}-{threading.get_ident()}"
        try:
            shutil.copytree(source, staging, ignore=ignore, symlinks=True)
            try:
                os.rename(staging, target)
            except OSError:  # Another process made the same copy meanwhile.
                if not os.path.isdir(target):
                    raise
                shutil.rmtree(staging, ignore_errors=True)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return target


def prepare(runtime_env: Optional[Mapping]) -> Optional[dict]:
    """Returns what a worker applies for a runtime_env's working_dir and py_modules (the paths
    of their copies), copying them first; None when it names neither.

    Raises:
        As `check`, and ValueError for a directory over 500 MiB.
    """
    if not runtime_env:
        return None
    working_dir = runtime_env.get("working_dir")
    modules = runtime_env.get("py_modules") or ()
    if working_dir is None and not modules:
        return None
    check(runtime_env)
    excludes = tuple(runtime_env.get("excludes") or ())
    # Only the keys the runtime_env names: a child's place overrides its parent's key by key.
    prepared: dict = {}
    if working_dir is not None:
        prepared["working_dir"] = _copy("working_dir", _source("working_dir", working_dir), excludes)
    if modules:
        prepared["py_modules"] = [
            os.path.dirname(_copy("py_modules", _source("py_modules", entry), excludes))
            for entry in modules
        ]
    return prepared


def prepare_for_job(runtime_env: Optional[Mapping]) -> Optional[dict]:
    """`prepare` for init's runtime_env, before its embedded node starts (its workers start with
    the node, so they are told where in their environment): the copies go to a directory of
    this driver's own under $RAYX_HOME/runtime_env, removed when the driver exits (the node's
    workers end with it).
    """
    global _copies_root
    if not runtime_env or (
        runtime_env.get("working_dir") is None and not runtime_env.get("py_modules")
    ):
        return None
    check(runtime_env)
    import atexit
    import shutil
    import tempfile

    home = os.environ.get("RAYX_HOME") or os.path.join(os.path.expanduser("~"), ".rayx")
    parent = os.path.join(home, "runtime_env")
    os.makedirs(parent, exist_ok=True)
    root = tempfile.mkdtemp(prefix=f"job-{os.getpid()}-", dir=parent)
    atexit.register(shutil.rmtree, root, True)
    previous, _copies_root = _copies_root, root
    try:
        return prepare(runtime_env)
    finally:
        _copies_root = previous


def set_job_place(place: Optional[dict]) -> None:
    """Records init's place for this process's job (the driver's, or the one a worker applied)."""
    global _job_place
    _job_place = place


def child_place(own: Optional[dict]) -> Optional[dict]:
    """The place of a task or actor submitted now, whose own runtime_env's directories are own
    (`prepare`'s result, None when it names none): its keys over the parent's place, and the
    parent's env_vars. None: the job's place alone, which every worker of the job has already.
    """
    from rayx._private import current  # Here: current is imported by this package's users.

    parent = current.inherited_place
    if own is None:
        return parent
    base = parent if parent is not None else (_job_place or {})
    return {**base, **own}


def running_place(place: Optional[dict], env_vars: Optional[dict]) -> Optional[dict]:
    """What a task or actor that runs in place (None: the job's) with its own env_vars set (as
    they were set, ${NAME} expanded) passes on to its children (`current.inherited_place`)."""
    if not env_vars:
        return place
    base = place if place is not None else (_job_place or {})
    return {**base, "env_vars": {**(base.get("env_vars") or {}), **env_vars}}


def _paths_of(place: dict) -> list:
    """The sys.path entries `apply` adds for place."""
    paths = list(place.get("py_modules") or ())
    if place.get("working_dir") is not None:
        paths.insert(0, place["working_dir"])
    return paths


def apply(prepared: dict) -> tuple:
    """Moves this worker into a prepared runtime_env's directories (none when it names none: its
    env_vars are set by the caller); returns what `restore` needs.

    A place with directories replaces the job's, which the worker applied at its start: the job's
    entries leave sys.path until `restore` (a child place holds the job's directories unless it
    overrides them).
    """
    saved = (os.getcwd(), list(sys.path))
    if not any(key in prepared for key in _DIRECTORY_KEYS):
        return saved
    if _job_place is not None and prepared is not _job_place:
        job_paths = set(_paths_of(_job_place))
        sys.path[:] = [p for p in sys.path if p not in job_paths]
    working_dir = prepared.get("working_dir")
    if working_dir is not None:
        os.chdir(working_dir)
    paths = _paths_of(prepared)
    sys.path[:0] = [p for p in paths if p not in sys.path]
    return saved


def restore(saved: tuple) -> None:
    """Undoes `apply`: the next task on this worker runs where the worker was."""
    cwd, path = saved
    try:
        os.chdir(cwd)
    except OSError:
        pass
    sys.path[:] = path
