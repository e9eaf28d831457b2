"""End to end: tasks sent straight to a leased worker (direct submission) behave like any task.

One CPU, so the driver's lease holds the only worker that may run: every task that takes the
node's path needs the node to ask for the lease back (or the leased worker to block and lend its
CPU). A run of small tasks first, so that a lease exists and the tasks below go direct.
"""
import os
import shutil
import tempfile
import time

import rayx
from rayx._private.worker import direct_task_count

rayx.init(num_cpus=1)


@rayx.remote
def square(x):
    return x * x


def warm():
    for i in range(50):
        assert rayx.get(square.remote(i)) == i * i


before = direct_task_count()
warm()
# The first task asks for the lease; nearly all the others go straight to the leased worker.
assert direct_task_count() - before >= 40, direct_task_count() - before
# The caller's idle lease does not count against what is available.
assert rayx.available_resources().get("CPU") == 1.0, rayx.available_resources()

# Values, errors and nested references come back as from the node's path.
@rayx.remote
def fail():
    raise ValueError("direct failure")


warm()
try:
    rayx.get(fail.remote())
    raise AssertionError("expected ValueError")
except ValueError as e:
    assert "direct failure" in str(e)


@rayx.remote
def make_inner():
    return [rayx.put("inner value")]


warm()
(inner,) = rayx.get(make_inner.remote())
assert rayx.get(inner) == "inner value"

# A result passed on to another task (which takes the node's path: its argument is a reference).
@rayx.remote
def add_one(x):
    return x + 1


warm()
first = square.remote(7)
second = add_one.remote(first)
assert rayx.get(second) == 50
assert rayx.get(first) == 49

# The node gets such a result from the caller as soon as the caller has it: the worker's own
# report of it is batched (sent within 5 ms), and a chain must not wait for that batch.
durations = []
for i in range(60):
    start = time.monotonic()
    assert rayx.get(add_one.remote(square.remote(i))) == i * i + 1
    durations.append(time.monotonic() - start)
# The median, so that a moment of load on a shared machine does not decide. The bound is half the
# 5 ms batch, which a chain that waited for it would pass (a clean-clone CI run, its other test
# beside it on two cores, measured 1.04 ms against an earlier bound of 1 ms); a sanitizer build
# runs everything about three times slower, and its bound is still below the batch.
median = sorted(durations)[len(durations) // 2]
bound = 0.004 if os.environ.get("RAYX_SANITIZER") else 0.0025
assert median < bound, f"a chain of two tasks took {median * 1000:.2f} ms (median)"

# A task that waits for another task while it holds the only CPU lends it while it waits.
@rayx.remote
def outer():
    return rayx.get(square.remote(3)) + 1


warm()
assert rayx.get(outer.remote()) == 10

# A get with a timeout on a task still running on the leased worker times out, then succeeds.
@rayx.remote
def sleepy(seconds, value):
    time.sleep(seconds)
    return value


warm()
slow = sleepy.remote(1.0, "slept")
start = time.monotonic()
try:
    rayx.get(slow, timeout=0.2)
    raise AssertionError("expected GetTimeoutError")
except rayx.exceptions.GetTimeoutError:
    pass
assert time.monotonic() - start < 0.9, "the timeout was not kept"
ready, not_ready = rayx.wait([slow], timeout=0.05)
assert ready == [] and not_ready == [slow]
assert rayx.get(slow) == "slept"
ready, _ = rayx.wait([slow])
assert ready == [slow]

# A worker that dies running a direct task: retried while retries remain, else WorkerCrashedError.
marker_dir = tempfile.mkdtemp(prefix="rayx-direct-")


@rayx.remote(max_retries=1)
def die_first_time(marker):
    if not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return "second attempt"


warm()
assert rayx.get(die_first_time.remote(os.path.join(marker_dir, "a"))) == "second attempt"


@rayx.remote(max_retries=0)
def die():
    os._exit(1)


warm()
try:
    rayx.get(die.remote())
    raise AssertionError("expected WorkerCrashedError")
except rayx.exceptions.WorkerCrashedError:
    pass
warm()

# A worker that forks and dies: the child's copy of the link must not hide the death.
@rayx.remote(max_retries=0)
def fork_then_die(pid_file):
    child = os.fork()
    if child == 0:
        time.sleep(2)
        os._exit(0)
    with open(pid_file, "w") as f:
        f.write(str(child))
    os._exit(1)


warm()
pid_file = os.path.join(marker_dir, "child")
start = time.monotonic()
try:
    rayx.get(fork_then_die.remote(pid_file))
    raise AssertionError("expected WorkerCrashedError")
except rayx.exceptions.WorkerCrashedError:
    pass
assert time.monotonic() - start < 1.5, "the worker's death went unseen while its child lived"
child_pid = int(open(pid_file).read())
deadline = time.monotonic() + 10
while os.path.exists(f"/proc/{child_pid}") and time.monotonic() < deadline:
    time.sleep(0.05)  # Gone before the run ends (the test checks that nothing outlives it).

# Cancel reaches a direct task that runs.
warm()
long = sleepy.remote(60, "never")
time.sleep(0.5)
rayx.cancel(long)
start = time.monotonic()
try:
    rayx.get(long)
    raise AssertionError("expected TaskCancelledError")
except rayx.exceptions.TaskCancelledError:
    pass
assert time.monotonic() - start < 5
warm()

# Another process's get of a direct result: the node has it too.
@rayx.remote
def read_ref(holder):
    return rayx.get(holder[0])


warm()
produced = square.remote(12)
assert rayx.get(produced) == 144
assert rayx.get(read_ref.remote([produced])) == 144

# A worker given back while its reports of direct tasks are still batched (up to 5 ms) can be
# made an actor's at once: here the actor's creation asks for the lease back, the only CPU being
# held by it. The reports that follow are the tasks', not calls to the actor, and the actor lives.
@rayx.remote
class Pid:
    def pid(self):
        return os.getpid()


for _ in range(10):
    for i in range(5):
        assert rayx.get(square.remote(i)) == i * i
    pid_actor = Pid.remote()
    assert rayx.get(pid_actor.pid.remote()) > 0
    rayx.kill(pid_actor)

# Many tasks in flight at once still all finish (most take the node's path).
assert rayx.get([square.remote(i) for i in range(300)]) == [i * i for i in range(300)]
warm()
shutil.rmtree(marker_dir)
print("direct submission: all checks held")
