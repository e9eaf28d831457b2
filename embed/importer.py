"""The import hook of the rayx binary: serves the `rayx` package compiled into it.

embed/interpreter.cc runs this file as the module `_rayx_importer` right after the interpreter
starts and calls install(). It must stay cheap: it runs before every script and in every worker,
so it imports nothing that the interpreter has not loaded already.

What it promises:
  * `import rayx` and its submodules load from the binary, ahead of anything on sys.path.
    Packages get `__path__`, modules a `__file__` of the form "<rayx>/rayx/foo.py", and the loader
    has get_source(), so linecache and the traceback module show source lines.
  * Their code was compiled when rayx was built (gen_embedded.py): a process does not compile the
    package's source when it starts, unless this interpreter reads other bytecode than the build's
    Python wrote, or runs with -O.
  * `import ray` (and `ray.x`) gives the very same module object as `import rayx` (`rayx.x`).
  * $VIRTUAL_ENV/lib/pythonX.Y/site-packages, when it exists, is added with site.addsitedir,
    ahead of the system's site directories.
"""

import os
import sys

import _rayx_embedded

# importlib's bootstrap is always loaded; importing it by this name costs nothing.
_bootstrap = sys.modules["_frozen_importlib"]
# So are marshal and the running interpreter's bytecode magic number.
_marshal = sys.modules["marshal"]
_MAGIC = sys.modules["_frozen_importlib_external"].MAGIC_NUMBER

PREFIX = "<rayx>/"  # __file__ of embedded modules: "<rayx>/rayx/foo.py".
_ALIAS = "ray"
_TARGET = "rayx"


class EmbeddedLoader:
    """Loads modules of the embedded `rayx` package (an importlib Loader and InspectLoader)."""

    def create_module(self, spec):
        return None  # The default module object.

    def exec_module(self, module):
        code = self.get_code(module.__spec__.name)
        exec(code, module.__dict__)

    def is_package(self, fullname: str) -> bool:
        return self._find(fullname)[0]

    def get_filename(self, fullname: str) -> str:
        return PREFIX + self._find(fullname)[1]

    def get_source(self, fullname: str) -> str:
        return _rayx_embedded.get_data(fullname).decode("utf-8")

    def get_code(self, fullname: str):
        # The build's code, when the build's Python made bytecode this one reads and no -O asks
        # for code without asserts; otherwise the source, compiled here.
        code = _rayx_embedded.get_code(fullname)
        if code is not None and code[:4] == _MAGIC and not sys.flags.optimize:
            return _marshal.loads(memoryview(code)[4:])
        data = _rayx_embedded.get_data(fullname)
        return compile(data, self.get_filename(fullname), "exec", dont_inherit=True)

    def _find(self, fullname: str):
        found = _rayx_embedded.find(fullname)
        if found is None:
            raise ImportError(f"no embedded module named {fullname!r}", name=fullname)
        return found


class AliasLoader:
    """Loads `ray.x` by importing `rayx.x` and handing out that same module object."""

    def __init__(self, target: str):
        self.target = target
        self._target_spec = None

    def create_module(self, spec):
        module = _bootstrap._gcd_import(self.target)
        self._target_spec = module.__spec__
        return module

    def exec_module(self, module):
        # importlib set __spec__ to the alias' spec; the module stays rayx's own.
        module.__spec__ = self._target_spec


_LOADER = EmbeddedLoader()


class EmbeddedFinder:
    """A sys.meta_path finder for the embedded `rayx` package and its `ray` alias."""

    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        if fullname == _ALIAS or fullname.startswith(_ALIAS + "."):
            real = _TARGET + fullname[len(_ALIAS) :]
            found = _rayx_embedded.find(real)
            if found is None:
                return None
            return _bootstrap.ModuleSpec(fullname, AliasLoader(real), is_package=found[0])
        found = _rayx_embedded.find(fullname)
        if found is None:
            return None
        is_package, relative = found
        spec = _bootstrap.ModuleSpec(
            fullname, _LOADER, origin=PREFIX + relative, is_package=is_package
        )
        spec.has_location = True
        if is_package:
            spec.submodule_search_locations = [PREFIX + relative.rpartition("/")[0]]
        return spec

    @classmethod
    def invalidate_caches(cls):
        pass


def _has_embedded_frame(exc) -> bool:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        tb = exc.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename.startswith(PREFIX):
                return True
            tb = tb.tb_next
        exc = exc.__cause__ or exc.__context__
    return False


def _excepthook(exc_type, exc, tb):
    """Like sys.__excepthook__, but shows source lines of embedded modules too.

    CPython's built-in printer reads source lines from disk only; when a traceback passes through
    the embedded package, the traceback module (which asks the loader) prints it instead.
    """
    if isinstance(exc, BaseException) and _has_embedded_frame(exc):
        try:
            import traceback

            traceback.print_exception(exc_type, exc, tb)
            return
        except Exception:
            pass
    sys.__excepthook__(exc_type, exc, tb)


def _add_virtualenv() -> None:
    venv = os.environ.get("VIRTUAL_ENV")
    if not venv:
        return
    site_dir = os.path.join(venv, "lib", "python%d.%d" % sys.version_info[:2], "site-packages")
    if not os.path.isdir(site_dir):
        return
    import site

    before = set(sys.path)
    site.addsitedir(site_dir)
    added = [p for p in sys.path if p not in before]
    rest = [p for p in sys.path if p in before]
    at = next(
        (i for i, p in enumerate(rest) if p.endswith(("site-packages", "dist-packages"))), len(rest)
    )
    sys.path[:] = rest[:at] + added + rest[at:]


def install() -> None:
    """Puts the finder first on sys.meta_path, the excepthook in place, and the venv on sys.path."""
    if EmbeddedFinder not in sys.meta_path:
        sys.meta_path.insert(0, EmbeddedFinder)
    if sys.excepthook is sys.__excepthook__:
        sys.excepthook = _excepthook
    _add_virtualenv()
