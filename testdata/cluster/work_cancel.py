# Run by cluster_work_test.sh with a driver attached to node a: ray.cancel reaches work that lives
# on another member. A task that only node c can run is cancelled there while it runs; a call to an
# actor living on node b, queued behind a running call, is dropped there; the running one is not
# interrupted (a sync actor's call, as in Ray).
import time

import rayx
from rayx.exceptions import TaskCancelledError


@rayx.remote(resources={"c": 1})
def long_on_c():
    time.sleep(60)
    return "slept"


@rayx.remote(resources={"b": 1})
class OnB:
    def slow(self, seconds):
        time.sleep(seconds)
        return seconds


def cancelled(ref):
    try:
        rayx.get(ref, timeout=30)
    except TaskCancelledError:
        return True
    return False


rayx.init()
ref = long_on_c.remote()
time.sleep(1.0)  # Placed on c and running there.
started = time.monotonic()
rayx.cancel(ref)
assert cancelled(ref), "a task running on another member was not cancelled"
assert time.monotonic() - started < 20

actor = OnB.remote()
assert rayx.get(actor.slow.remote(0), timeout=30) == 0  # Created on b.
first = actor.slow.remote(2)
second = actor.slow.remote(0)
time.sleep(0.5)
rayx.cancel(second)
assert cancelled(second), "a queued call to an actor on another member was not dropped"
assert rayx.get(first, timeout=30) == 2
try:
    rayx.cancel(actor.slow.remote(0.5), force=True)
    raise AssertionError("force=True on a call to a remote actor must raise ValueError")
except ValueError:
    pass
print("cancel ok")
