"""End to end: direct submission while workers are killed at random.

Four driver threads each run a seeded mix of small tasks (direct), nested tasks (a worker that
submits), chains (a direct result passed to a task on the node's path), batches, waits and
cancels, while another thread kills a worker every 50 ms. Every result must be right: killed
attempts are retried (max_retries defaults to 3), and nothing may hang or break a connection.
"""
import os
import random
import signal
import threading
import time
import traceback

import rayx

rayx.init(num_cpus=2)


@rayx.remote
def square(x):
    return x * x


@rayx.remote
def worker_pid():
    return os.getpid()


@rayx.remote
def nested(x):
    return rayx.get(square.remote(x)) + 1


@rayx.remote
def add(a, b):
    return a + b


@rayx.remote
def slow(x):
    time.sleep(0.01)
    return x


failures = []


def mix(seed, rounds):
    rng = random.Random(seed)
    try:
        for i in range(rounds):
            r = rng.random()
            if r < 0.5:
                assert rayx.get(square.remote(i)) == i * i
            elif r < 0.65:
                assert rayx.get(nested.remote(i)) == i * i + 1
            elif r < 0.8:
                assert rayx.get(add.remote(square.remote(i), i)) == i * i + i
            elif r < 0.9:
                assert rayx.get([square.remote(j) for j in range(20)]) == [j * j for j in range(20)]
            elif r < 0.95:
                ref = slow.remote(i)
                rayx.wait([ref], timeout=0.001)
                assert rayx.get(ref) == i
            else:
                ref = slow.remote(i)
                rayx.cancel(ref)
                try:
                    assert rayx.get(ref) == i  # Done before the cancel came.
                except rayx.exceptions.TaskCancelledError:
                    pass
    except Exception as e:  # Reported below; the other threads go on.
        traceback.print_exc()
        failures.append(e)


# A kill every 50 ms, unless a worker takes long to start here: on a loaded machine (a full
# suite on two cores) the first task, which waits for a worker to start, took up to a second,
# and a kill every 50 ms then killed one nested task more often than its retries allow (it needs
# two workers alive at once). So the kills are at most four a worker start. Under AddressSanitizer
# (bazel test --config=asan sets RAYX_SANITIZER) a task runs about ten times as long: 500 ms.
started = time.monotonic()
assert rayx.get(square.remote(0)) == 0
WORKER_START = time.monotonic() - started
KILL_EVERY = 0.5 if os.environ.get("RAYX_SANITIZER") == "asan" else max(0.05, WORKER_START / 4)


def kill_workers(stop):
    kills = 0
    while not stop.wait(KILL_EVERY):
        try:
            os.kill(rayx.get(worker_pid.remote(), timeout=10), signal.SIGKILL)
            kills += 1
        except (rayx.exceptions.RayError, ProcessLookupError):
            pass
    return kills


stop = threading.Event()
killer = threading.Thread(target=kill_workers, args=(stop,))
killer.start()
threads = [threading.Thread(target=mix, args=(seed, 1500)) for seed in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
stop.set()
killer.join()
assert not failures, failures
print(f"direct stress: a kill every {KILL_EVERY * 1000:.0f} ms")
print("direct stress: all checks held")
