"""Blocks in rayx.get until Ctrl-C; used by interrupt_test.sh. Prints "interrupted" when the
KeyboardInterrupt arrives, after checking that a task blocked in get can be cancelled too."""
import time

import rayx

rayx.init(num_cpus=2)


@rayx.remote
def forever():
    time.sleep(3600)


@rayx.remote
def waits_for(ref_list):
    return rayx.get(ref_list[0])  # Blocks in get inside a worker.


# Cancelling a task that is blocked in get raises KeyboardInterrupt in it, as for one computing.
blocked = waits_for.remote([forever.remote()])
time.sleep(0.5)
rayx.cancel(blocked)
try:
    rayx.get(blocked, timeout=10)
    raise AssertionError("a cancelled task returned a value")
except rayx.exceptions.TaskCancelledError:
    pass

print("waiting", flush=True)
try:
    rayx.get(forever.remote())
except KeyboardInterrupt:
    print("interrupted", flush=True)
