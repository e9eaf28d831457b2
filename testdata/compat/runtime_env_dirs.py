"""End to end: runtime_env working_dir and py_modules on one machine, as Ray's "Environment
Dependencies" guide describes them for local directories.

Run by script_test.sh as `rayx run runtime_env_dirs.py`. A task or actor given a working_dir runs
in a copy of it (a change made to the directory after the call does not reach it), with the copy
first on sys.path; py_modules directories are importable, also for a function pickled by
reference to one of them; init's apply to every task and actor of the job (checked in a driver
of its own, in a subprocess); a task without them runs where the worker was. Remote URIs and
archives raise NotImplementedError naming them; a path that is not a local directory raises at
the call.
"""
import os
import subprocess
import sys
import tempfile

import rayx


def raises(error, call, *words):
    try:
        call()
    except error as e:
        for word in words:
            assert word in str(e), (word, str(e))
        return str(e)
    raise AssertionError(f"{call} did not raise {error.__name__}")


root = tempfile.mkdtemp(prefix="rayx-runtime-env-test-")
work = os.path.join(root, "project")
os.makedirs(os.path.join(work, "data"))
with open(os.path.join(work, "data", "input.txt"), "w") as f:
    f.write("first")
with open(os.path.join(work, "helper.py"), "w") as f:
    f.write("WHERE = 'helper in the working dir'\n")
with open(os.path.join(work, "big.bin"), "w") as f:
    f.write("left out by excludes")
modules = os.path.join(root, "libs")
os.makedirs(os.path.join(modules, "mypkg"))
with open(os.path.join(modules, "mypkg", "__init__.py"), "w") as f:
    f.write("VALUE = 41\n\ndef compute(x):\n    return VALUE + x\n")
package = os.path.join(modules, "mypkg")

rayx.init(num_cpus=2)
start_dir = os.getcwd()
env = {"working_dir": work, "py_modules": [package], "excludes": ["*.bin"]}


@rayx.remote
def where():
    import helper
    import mypkg

    with open("data/input.txt") as f:
        data = f.read()
    return os.getcwd(), data, helper.WHERE, mypkg.VALUE, os.path.exists("big.bin"), sys.path[0]


@rayx.remote
def plain():
    return os.getcwd(), [p for p in sys.path if "runtime_env" in p]


with_env = where.options(runtime_env=env)
cwd, data, helper_where, value, big, first_path = rayx.get(with_env.remote())
assert os.path.realpath(cwd) != os.path.realpath(work), "the task must run in a copy"
assert data == "first" and helper_where == "helper in the working dir" and value == 41
assert big is False, "excludes left big.bin out"
assert first_path == cwd
# A copy taken at the options' first call: a later change to the directory does not reach them;
# options made after it take a copy of their own.
with open(os.path.join(work, "data", "input.txt"), "w") as f:
    f.write("second!")
assert rayx.get(with_env.remote())[1] == "first"
again = where.options(runtime_env=env)
assert rayx.get(again.remote())[1] == "second!"
assert rayx.get(again.remote())[0] != cwd
# A task without it runs where the worker was, with sys.path as it was.
for _ in range(4):
    plain_cwd, plain_paths = rayx.get(plain.remote())
    assert plain_cwd != cwd and plain_paths == [], (plain_cwd, plain_paths)
assert os.getcwd() == start_dir  # The driver stays where it is.

# A function of a py_modules package, pickled by reference: importable before it is loaded.
sys.path.insert(0, modules)
import mypkg  # noqa: E402

compute = rayx.remote(mypkg.compute)
assert rayx.get(compute.options(runtime_env={"py_modules": [package]}).remote(1)) == 42
sys.path.remove(modules)


@rayx.remote
class Reader:
    def read(self):
        import mypkg

        with open("data/input.txt") as f:
            return os.getcwd(), f.read(), mypkg.VALUE


reader = Reader.options(runtime_env={"working_dir": work, "py_modules": [mypkg]}).remote()
actor_cwd, actor_data, actor_value = rayx.get(reader.read.remote())
assert actor_data == "second!" and actor_value == 41  # Copied at its creation.
assert rayx.get(reader.read.remote())[0] == actor_cwd  # For good.

# Bad input, at the call.
raises(ValueError, lambda: where.options(runtime_env={"working_dir": root + "/nowhere"}),
       "does not exist", "nowhere")
raises(ValueError, lambda: where.options(runtime_env={"working_dir": os.path.join(work, "helper.py")}),
       "is not a directory")
raises(ValueError, lambda: Reader.options(runtime_env={"py_modules": [root + "/none"]}), "none")
for uri in ("s3://bucket/project.zip", "https://example.com/project.zip", "gs://b/m.zip"):
    raises(NotImplementedError, lambda: where.options(runtime_env={"working_dir": uri}), uri)
    raises(NotImplementedError, lambda: where.options(runtime_env={"py_modules": [uri]}), uri)
raises(NotImplementedError, lambda: where.options(runtime_env={"working_dir": root + "/p.zip"}),
       "p.zip")
raises(TypeError, lambda: where.options(runtime_env={"py_modules": package}), "list")
raises(NotImplementedError, lambda: where.options(runtime_env={"pip": ["requests"]}), "pip")

# init's: every task and actor of the job, in a driver of its own.
job = f"""
import os, sys
import rayx
rayx.init(num_cpus=1, runtime_env={{"working_dir": {work!r}, "py_modules": [{package!r}]}})
assert os.getcwd() != {work!r}

@rayx.remote
def task():
    import helper, mypkg
    with open("data/input.txt") as f:
        return os.getcwd(), f.read(), mypkg.VALUE

@rayx.remote
class Actor:
    def get(self):
        import mypkg
        return os.getcwd(), mypkg.VALUE

cwd, data, value = rayx.get(task.remote())
assert data == "second!" and value == 41 and cwd != {work!r}, (cwd, data, value)
assert rayx.get(Actor.remote().get.remote()) == (cwd, 41)
print("job ok", cwd)
"""
out = subprocess.run([sys.executable, "-c", job], capture_output=True, text=True, timeout=120)
assert out.returncode == 0 and "job ok" in out.stdout, out.stdout + out.stderr
job_copy = out.stdout.split("job ok", 1)[1].strip()
assert not os.path.exists(job_copy), "init's copies go when the driver exits"
print("runtime env dirs: all checks held")
