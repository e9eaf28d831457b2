"""End to end: max_retries=-1 retries a task for ever, as in Ray.

Run by script_test.sh as `rayx run retries.py`. Each task counts its attempts in a file of its own
and kills its own worker (os._exit) until the count reaches what the test asks for.
"""
import os
import tempfile

import rayx

rayx.init(num_cpus=2)
scratch = tempfile.mkdtemp(prefix="rayx-compat-retries-")


def attempt(name: str) -> int:
    """Counts one more attempt of the task called name; returns the count, from 1."""
    path = os.path.join(scratch, name)
    with open(path, "a") as f:
        f.write("x")
    with open(path) as f:
        return len(f.read())


@rayx.remote(max_retries=-1)
def dies_three_times(name):
    n = attempt(name)
    if n <= 3:
        os._exit(1)
    return n


# Worker deaths: retried for ever. The fourth attempt returns.
assert rayx.get(dies_three_times.remote("plain"), timeout=60) == 4

# More deaths than the default budget of 3 allows, two tasks at once.


@rayx.remote(max_retries=-1)
def dies_six_times(name):
    n = attempt(name)
    if n <= 6:
        os._exit(1)
    return n


assert rayx.get([dies_six_times.remote(f"six{i}") for i in range(2)], timeout=120) == [7, 7]


@rayx.remote
def child(x):
    import time

    time.sleep(0.5)
    return x + 1


@rayx.remote(max_retries=-1)
def parent_dies_after_child(name):
    # Every attempt submits children and dies while they still run: each attempt's children must
    # have ids of their own, or the retry's submissions collide with those of the attempt that
    # died, which the node still holds.
    n = attempt(name)
    refs = [child.remote(i) for i in range(3)]
    if n <= 3:
        os._exit(1)
    return n, rayx.get(refs)


assert rayx.get(parent_dies_after_child.remote("parent"), timeout=60) == (4, [1, 2, 3])

# An exception, with retry_exceptions=True: also retried for ever.


@rayx.remote(max_retries=-1, retry_exceptions=True)
def raises_four_times(name):
    n = attempt(name)
    if n <= 4:
        raise RuntimeError(f"attempt {n}")
    return n


assert rayx.get(raises_four_times.remote("raises"), timeout=60) == 5

# A finite budget still ends: max_retries=2 gives three attempts, then WorkerCrashedError.
try:
    rayx.get(dies_three_times.options(max_retries=2).remote("finite"), timeout=60)
    raise AssertionError("a task with max_retries=2 that dies three times must fail")
except rayx.exceptions.WorkerCrashedError:
    pass
assert attempt("finite") == 4  # Three attempts ran (this call is the fourth count).

# max_retries below -1 is an error at the call site, as in Ray.
try:
    dies_three_times.options(max_retries=-2)
    raise AssertionError("max_retries=-2 must be refused")
except ValueError as e:
    assert "max_retries" in str(e)

print("retries: all checks held")
