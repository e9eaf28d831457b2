"""End to end: remote functions, references, the task graph, errors, retries and cancellation.

Run by script_test.sh as `rayx run tasks.py`; every assert is a behaviour a user relies on.
"""
import os
import sys
import tempfile
import threading
import time

import numpy as np
import rayx

rayx.init(num_cpus=2)
scratch = tempfile.mkdtemp(prefix="rayx-e2e-tasks-")


@rayx.remote
def square(x):
    return x * x


@rayx.remote
def concat(*parts, sep=""):
    return sep.join(parts)


# Calls return references at once, and get keeps the order of the list it is given.
refs = [square.remote(i) for i in range(50)]
assert all(isinstance(r, rayx.ObjectRef) for r in refs)
assert rayx.get(refs) == [i * i for i in range(50)]
assert rayx.get(concat.remote("a", "b", sep="-")) == "a-b"

# References are hashable, comparable, and keep their identity through pickling.
r = rayx.put("value")
assert r == r and len({r, r}) == 1 and len(r.hex()) == 40
import pickle  # noqa: E402

assert pickle.loads(pickle.dumps([r]))[0] == r

# A reference passed at the top level is replaced by its value; nested ones stay references.
@rayx.remote
def describe(top, nested):
    return type(top).__name__, type(nested[0]).__name__, rayx.get(nested[0])


assert rayx.get(describe.remote(rayx.put(1), [rayx.put(2)])) == ("int", "ObjectRef", 2)

# A reference returned inside a task's result stays alive after the task ends.
@rayx.remote
def make_inner():
    return [rayx.put("inner value")]


(inner,) = rayx.get(make_inner.remote())
assert rayx.get(inner) == "inner value"


# Recursion: workers blocked in get lend their CPU, so deep trees finish on two CPUs.
@rayx.remote
def tree_sum(depth):
    if depth == 0:
        return 1
    return sum(rayx.get([tree_sum.remote(depth - 1), tree_sum.remote(depth - 1)]))


assert rayx.get(tree_sum.remote(5)) == 32


@rayx.remote(num_returns=2)
def divmod_remote(a, b):
    return divmod(a, b)


q, m = divmod_remote.remote(17, 5)
assert rayx.get([q, m]) == [3, 2]


# wait: the ready ones first, in the given order; a timeout returns what is ready.
@rayx.remote
def nap(seconds):
    time.sleep(seconds)
    return seconds


long_ref, short_ref = nap.remote(3), nap.remote(0)
ready, pending = rayx.wait([long_ref, short_ref], num_returns=1, timeout=2.5)
assert ready == [short_ref] and pending == [long_ref]
try:
    rayx.get(long_ref, timeout=0.05)
    raise AssertionError("expected a timeout")
except rayx.exceptions.GetTimeoutError as e:
    assert isinstance(e, TimeoutError)
rayx.cancel(long_ref)
try:
    rayx.get(long_ref)
    raise AssertionError("a cancelled task returned a value")
except rayx.exceptions.TaskCancelledError:
    pass
# A task cancelled before it starts never runs.
blockers = [nap.remote(1) for _ in range(2)]
queued = nap.remote(0)
rayx.cancel(queued)
try:
    rayx.get(queued)
    raise AssertionError("a cancelled queued task returned a value")
except rayx.exceptions.TaskCancelledError:
    pass
rayx.get(blockers)


# Errors: the original type, the remote traceback, and propagation to dependants.
@rayx.remote
def parse(text):
    return int(text)


bad = parse.remote("not a number")
for ref in (bad, square.remote(bad)):
    try:
        rayx.get(ref)
        raise AssertionError("error swallowed")
    except ValueError as e:
        assert isinstance(e, rayx.exceptions.RayTaskError)
        assert "not a number" in str(e) and "parse" in str(e)


# A worker that dies is replaced; the task is retried, then reported as a crash.
@rayx.remote(max_retries=1)
def die_first_time(path):
    if not os.path.exists(path):
        open(path, "w").close()
        os._exit(3)
    return "second attempt"


assert rayx.get(die_first_time.remote(os.path.join(scratch, "died"))) == "second attempt"
try:
    rayx.get(die_first_time.options(max_retries=0).remote(os.path.join(scratch, "never")))
    raise AssertionError("expected a crash")
except rayx.exceptions.WorkerCrashedError:
    pass


# Exceptions are retried only when retry_exceptions names them.
@rayx.remote(max_retries=1, retry_exceptions=[KeyError])
def flaky(path, error):
    if not os.path.exists(path):
        open(path, "w").close()
        raise error("first try")
    return "ok"


assert rayx.get(flaky.remote(os.path.join(scratch, "key"), KeyError)) == "ok"
try:
    rayx.get(flaky.remote(os.path.join(scratch, "index"), IndexError))
    raise AssertionError("IndexError is not in retry_exceptions")
except IndexError:
    pass

# Bad input is refused at the call site with a message that says what is wrong.
try:
    square(3)
    raise AssertionError("direct call accepted")
except TypeError as e:
    assert "remote" in str(e)
try:
    square.options(num_cpu=1)
    raise AssertionError("misspelt option accepted")
except ValueError as e:
    assert "num_cpu" in str(e)
try:
    square.remote(threading.Lock())
    raise AssertionError("unpicklable argument accepted")
except TypeError as e:
    assert "argument 0" in str(e) and "lock" in str(e)

# Large arrays travel through shared memory and come back as read-only views.
big = np.random.default_rng(0).random(3_000_000)
big_ref = rayx.put(big)
view = rayx.get(big_ref)
assert np.array_equal(view, big) and not view.flags.writeable


@rayx.remote
def mean(v):
    return float(v.mean())


@rayx.remote
def zeros(n):
    return np.zeros(n)


assert abs(rayx.get(mean.remote(big_ref)) - float(big.mean())) < 1e-12
assert rayx.get(mean.remote(big)) == rayx.get(mean.remote(big_ref))  # passed by value
assert rayx.get(zeros.remote(2_000_000)).nbytes == 16_000_000


# Task output reaches the driver's stdout with the task's name and pid.
@rayx.remote
def speak():
    print("spoken by a task")
    sys.stdout.flush()
    return os.getpid()


speaker_pid = rayx.get(speak.remote())
assert speaker_pid != os.getpid()
print("tasks: all checks held")
