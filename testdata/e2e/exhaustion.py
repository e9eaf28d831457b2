# Out of file descriptors or processes: with the limit low (argv[1] "fds": this process lowers
# RLIMIT_NOFILE itself; "procs": it is run with a low `ulimit -u`), creating more actors than the
# node can start workers for fails those that cannot start, at the call, with a clear error
# (ActorDiedError naming the limit); the actors that started work; once they are gone, tasks run
# again: the node went on serving.
import resource
import sys
import time

import rayx

mode = sys.argv[1] if len(sys.argv) > 1 else "fds"
if mode == "fds":
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (96, hard))
rayx.init(num_cpus=2)


@rayx.remote(num_cpus=0)
class Holder:
    def ping(self):
        return "pong"


@rayx.remote
def task(x):
    return x + 1


started = time.time()
holders = [Holder.remote() for _ in range(60)]
alive, failed, reasons = [], 0, set()
for h in holders:
    try:
        assert rayx.get(h.ping.remote(), timeout=60) == "pong"
        alive.append(h)
    except rayx.exceptions.ActorDiedError as e:
        failed += 1
        reasons.add(str(e).split("cannot start: ")[-1].split(";")[0])
print(f"{len(alive)} actors started, {failed} could not ({sorted(reasons)[:3]}) in "
      f"{time.time() - started:.1f} s", flush=True)
assert alive and failed, "the limit was not reached, or nothing started"
if mode == "fds":
    assert all("cannot start a worker process" in r for r in reasons), reasons
else:
    # A fork that fails is told as for descriptors; a worker that forked but could not start its
    # threads exits at once (its stderr says why, with the limit) and its actor died with it.
    assert all("cannot start a worker process" in r or "worker process" in r and "exited" in r
               for r in reasons), reasons
for h in alive:
    rayx.kill(h)
del holders, alive, h
deadline = time.time() + 30
while True:
    try:
        assert rayx.get(task.remote(1), timeout=30) == 2
        break
    except rayx.exceptions.WorkerCrashedError:
        # The killed actors' workers may not all have exited yet.
        if time.time() > deadline:
            raise
        time.sleep(0.5)
print(rayx.get([task.remote(i) for i in range(20)], timeout=60))
print("exhaustion ok")
