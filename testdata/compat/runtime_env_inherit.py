"""End to end: a task or actor submitted from inside a task or actor runs with its parent's
runtime_env unless it gives its own, as Ray's "Inheritance" rules for runtime environments say.

Run by script_test.sh as `rayx run runtime_env_inherit.py`. A child without a runtime_env runs in
its parent's working_dir copy, with its parent's py_modules and env_vars, and so do its own
children and the actors it creates; one that gives a runtime_env overrides its parent's key by
key (a working_dir of its own keeps the parent's py_modules; py_modules of its own replace the
parent's), while env_vars are merged name by name, the child's winning. What a task passes on
ends with it: the next task on the same worker, and the driver's own tasks, inherit nothing.
init's runtime_env is every task's parent in a job (checked in a driver of its own).
"""
import os
import subprocess
import sys
import tempfile

import ray


def make_dir(root, name, files):
    path = os.path.join(root, name)
    for relative, text in files.items():
        os.makedirs(os.path.dirname(os.path.join(path, relative)), exist_ok=True)
        with open(os.path.join(path, relative), "w") as f:
            f.write(text)
    return path


root = tempfile.mkdtemp(prefix="rayx-runtime-env-inherit-")
first = make_dir(root, "first", {"mark.txt": "first", "first_only.py": "WHO = 'first'\n"})
second = make_dir(root, "second", {"mark.txt": "second", "second_only.py": "WHO = 'second'\n"})
libs_a = make_dir(root, "libs_a", {"pkga/__init__.py": "NAME = 'pkga'\n"})
libs_b = make_dir(root, "libs_b", {"pkgb/__init__.py": "NAME = 'pkgb'\n"})
pkga, pkgb = os.path.join(libs_a, "pkga"), os.path.join(libs_b, "pkgb")


def importable(name):
    """Whether name imports here, from sys.path as it is now (not from an earlier import)."""
    sys.modules.pop(name, None)
    try:
        __import__(name)
        return True
    except ImportError:
        return False
    finally:
        sys.modules.pop(name, None)


@ray.remote
def look():
    """Where it runs: the working dir's mark, which packages it imports, the env vars."""
    mark = open("mark.txt").read() if os.path.exists("mark.txt") else None
    return {
        "mark": mark,
        "pkga": importable("pkga"),
        "pkgb": importable("pkgb"),
        "env": {k: os.environ.get(k) for k in ("INH_A", "INH_B", "INH_C")},
    }


@ray.remote
def grand(child_env):
    """A child given child_env (None: no runtime_env of its own) that looks at its own child,
    which gives none."""
    return ray.get(look.remote())


@ray.remote
def parent(child_env):
    """Submits a child given child_env (None: none) and a child of that child's, which gives
    none; returns what each saw."""
    child = look.options(runtime_env=child_env) if child_env is not None else look
    middle = grand.options(runtime_env=child_env) if child_env is not None else grand
    return ray.get(child.remote()), ray.get(middle.remote(child_env))


@ray.remote
class Spawner:
    """An actor: created inside a task it inherits that task's runtime_env, and its methods'
    children inherit its own."""

    def look(self):
        return ray.get(look.remote())

    def here(self):
        mark = open("mark.txt").read() if os.path.exists("mark.txt") else None
        return mark, os.environ.get("INH_A")


@ray.remote
def make_spawner():
    spawner = Spawner.remote()
    return ray.get(spawner.here.remote()), ray.get(spawner.look.remote())


ray.init(num_cpus=2)
plain = {"mark": None, "pkga": False, "pkgb": False,
         "env": {"INH_A": None, "INH_B": None, "INH_C": None}}
assert ray.get(look.remote()) == plain  # The driver passes nothing on.

parent_env = {"working_dir": first, "py_modules": [pkga], "env_vars": {"INH_A": "a", "INH_B": "b"}}
inherited = {"mark": "first", "pkga": True, "pkgb": False,
             "env": {"INH_A": "a", "INH_B": "b", "INH_C": None}}

# No runtime_env of its own: the parent's, down to the grandchild.
child, grandchild = ray.get(parent.options(runtime_env=parent_env).remote(None))
assert child == inherited, child
assert grandchild == inherited, grandchild

# A working_dir of its own: the parent's py_modules stay; env_vars merged, the child's win; and
# the grandchild inherits the merged whole.
own = {"working_dir": second, "env_vars": {"INH_B": "new", "INH_C": "c"}}
child, grandchild = ray.get(parent.options(runtime_env=parent_env).remote(own))
expected = {"mark": "second", "pkga": True, "pkgb": False,
            "env": {"INH_A": "a", "INH_B": "new", "INH_C": "c"}}
assert child == expected, child
assert grandchild == expected, grandchild

# py_modules of its own replace the parent's (the working_dir stays the parent's).
child, _ = ray.get(parent.options(runtime_env=parent_env).remote({"py_modules": [pkgb]}))
assert child == {"mark": "first", "pkga": False, "pkgb": True,
                 "env": {"INH_A": "a", "INH_B": "b", "INH_C": None}}, child

# env_vars only: the parent's directories, the env_vars merged.
child, _ = ray.get(parent.options(runtime_env=parent_env).remote({"env_vars": {"INH_C": "x"}}))
assert child == {"mark": "first", "pkga": True, "pkgb": False,
                 "env": {"INH_A": "a", "INH_B": "b", "INH_C": "x"}}, child

# An env_vars-only parent passes its variables on, and nothing of directories.
child, _ = ray.get(parent.options(runtime_env={"env_vars": {"INH_A": "only"}}).remote(None))
assert child == {"mark": None, "pkga": False, "pkgb": False,
                 "env": {"INH_A": "only", "INH_B": None, "INH_C": None}}, child

# An actor created in a task inherits the task's; its methods' children inherit the actor's.
(mark, a), looked = ray.get(make_spawner.options(runtime_env=parent_env).remote())
assert (mark, a) == ("first", "a") and looked == inherited, (mark, a, looked)
# An actor given a runtime_env: its methods' children inherit it.
spawner = Spawner.options(runtime_env={"working_dir": second, "env_vars": {"INH_A": "x"}}).remote()
assert ray.get(spawner.look.remote()) == {
    "mark": "second", "pkga": False, "pkgb": False,
    "env": {"INH_A": "x", "INH_B": None, "INH_C": None}}

# It ends with the task: later tasks (on the same workers) inherit nothing.
for _ in range(6):
    assert ray.get(grand.remote(None)) == plain

# init's runtime_env is the parent of every task of the job: a task's working_dir of its own
# keeps init's py_modules and env_vars, and replaces init's working_dir.
job = f"""
import os, sys
import ray
ray.init(num_cpus=1, runtime_env={{"working_dir": {first!r}, "py_modules": [{pkga!r}],
                                   "env_vars": {{"INH_A": "job"}}}})

def importable(name):
    sys.modules.pop(name, None)
    try:
        __import__(name)
        return True
    except ImportError:
        return False
    finally:
        sys.modules.pop(name, None)

@ray.remote
def look():
    return (open("mark.txt").read(), importable("pkga"), importable("first_only"),
            importable("second_only"), os.environ.get("INH_A"), os.environ.get("INH_C"))

@ray.remote
def nested():
    return ray.get(look.remote())

assert ray.get(look.remote()) == ("first", True, True, False, "job", None)
own = look.options(runtime_env={{"working_dir": {second!r}, "env_vars": {{"INH_C": "c"}}}})
got = ray.get(own.remote())
assert got == ("second", True, False, True, "job", "c"), got
got = ray.get(nested.options(runtime_env={{"working_dir": {second!r}}}).remote())
assert got == ("second", True, False, True, "job", None), got
assert ray.get(look.remote())[:4] == ("first", True, True, False)
print("job ok")
"""
out = subprocess.run([sys.executable, "-c", job], capture_output=True, text=True, timeout=120)
assert out.returncode == 0 and "job ok" in out.stdout, out.stdout + out.stderr
print("runtime env inheritance: all checks held")
