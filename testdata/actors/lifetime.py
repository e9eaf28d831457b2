"""End to end: an actor lives while a handle to it exists anywhere (in a process, in a task's
arguments, inside a stored object), as in Ray; a detached one until it is killed.

Run by script_test.sh as `rayx run lifetime.py`.
"""
import os, time, rayx
rayx.init(num_cpus=2)

@rayx.remote
class A:
    def pid(self): return os.getpid()
    def echo(self, x): return x

def alive(pid):
    try:
        os.kill(pid, 0); return True
    except ProcessLookupError:
        return False

def gone(pid, seconds=5):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if not alive(pid): return True
        time.sleep(0.05)
    return False

# 1. Dropping the only handle ends the actor.
a = A.remote(); p = rayx.get(a.pid.remote()); del a
assert gone(p), "unreferenced actor still alive"
# 2. A handle in flight in a task's arguments keeps it alive.
@rayx.remote
def use(h):
    time.sleep(0.5)
    return rayx.get(h.echo.remote(7))
b = A.remote(); p = rayx.get(b.pid.remote()); r = use.remote(b); del b
assert rayx.get(r) == 7
assert gone(p), "actor kept after the task that held its handle finished"
# 3. A handle inside a stored object keeps it alive while the object lives.
c = A.remote(); p = rayx.get(c.pid.remote()); box = rayx.put([c]); del c
time.sleep(0.3); assert alive(p)
(c2,) = rayx.get(box); assert rayx.get(c2.echo.remote(3)) == 3
del c2, box
assert gone(p), "actor kept after the object carrying its handle was freed"
# 4. Calls made before the handle went still complete.
d = A.remote(); refs = [d.echo.remote(i) for i in range(50)]; del d
assert rayx.get(refs) == list(range(50))
# 5. A named actor also ends when its handles go.
e = A.options(name="n1").remote(); rayx.get(e.pid.remote()); del e
time.sleep(1)
try:
    rayx.get_actor("n1"); raise AssertionError("named actor outlived its handles")
except ValueError: pass
# 6. Detached lives on.
f = A.options(name="det", lifetime="detached").remote(); p = rayx.get(f.pid.remote()); del f
time.sleep(0.5); assert alive(p); rayx.kill(rayx.get_actor("det"))
print("lifetime ok")
