"""ray.cancel of actor calls, as Ray documents it (ray.cancel, "Cancelling Misbehaving Tasks").

- an async actor's running call gets asyncio.CancelledError inside it; its caller gets
  TaskCancelledError; so does a call still waiting for one of the actor's concurrency slots;
- a queued (not started) call of a sync or threaded actor is not run: TaskCancelledError;
- a running call of a sync or threaded actor is not interrupted and returns its value; it sees
  get_runtime_context().is_canceled() turn True (an async actor's call may not ask: RuntimeError);
- force=True on an actor call raises ValueError; on a finished one it is a no-op, as in Ray;
- recursive=True (the default) cancels what the cancelled task submitted (tasks and actor calls),
  recursive=False leaves it running;
- cancelling a finished call (or task) changes nothing.
"""

import asyncio
import time

import ray
from ray.exceptions import TaskCancelledError

ray.init(num_cpus=6)


def cancelled(ref, timeout=20):
    """True when getting ref raises TaskCancelledError within timeout seconds."""
    try:
        ray.get(ref, timeout=timeout)
    except TaskCancelledError:
        return True
    return False


@ray.remote
class AsyncActor:
    def __init__(self):
        self.saw_cancel = 0

    async def slow(self, seconds):
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            self.saw_cancel += 1
            raise
        return seconds

    async def cancels_seen(self):
        return self.saw_cancel

    async def ask_is_canceled(self):
        try:
            ray.get_runtime_context().is_canceled()
        except RuntimeError:
            return "RuntimeError"
        return "no error"


@ray.remote
class SyncActor:
    def slow(self, seconds):
        time.sleep(seconds)
        return seconds

    def watch(self, seconds):
        """Runs for seconds unless cancelled; says whether it saw the cancel, and when."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if ray.get_runtime_context().is_canceled():
                return "saw cancel"
            time.sleep(0.02)
        return "ran out"


@ray.remote(max_concurrency=2)
class ThreadedActor:
    def slow(self, seconds):
        time.sleep(seconds)
        return seconds


# 1. An async actor's running call: CancelledError inside, TaskCancelledError for the caller.
a = AsyncActor.remote()
assert ray.get(a.cancels_seen.remote()) == 0  # Created: the next call runs at once.
ref = a.slow.remote(30)
time.sleep(0.5)
started = time.monotonic()
ray.cancel(ref)
assert cancelled(ref, timeout=10), "async call: no TaskCancelledError"
assert time.monotonic() - started < 5, "async call: the cancel took too long"
assert ray.get(a.cancels_seen.remote()) == 1, "the coroutine did not see CancelledError"
assert ray.get(a.slow.remote(0)) == 0, "the async actor goes on"
assert ray.get(a.ask_is_canceled.remote()) == "RuntimeError"
print("async running: cancelled inside, TaskCancelledError outside")

# 2. An async actor with one slot: the call waiting for it is dropped, the one running goes on.
one = AsyncActor.options(max_concurrency=1).remote()
ray.get(one.cancels_seen.remote())
first = one.slow.remote(1.5)
second = one.slow.remote(1.5)
time.sleep(0.3)
ray.cancel(second)
assert cancelled(second), "async call waiting for a slot: not cancelled"
assert ray.get(first) == 1.5
assert ray.get(one.cancels_seen.remote()) == 0  # The waiting one never began its body.
print("async queued: dropped")

# 3. A sync actor's queued call is dropped; the running one returns (the program).
s = SyncActor.remote()
ray.get(s.slow.remote(0))
r1 = s.slow.remote(2)
r2 = s.slow.remote(0)
time.sleep(0.3)
ray.cancel(r2)
assert cancelled(r2), "sync queued call: not cancelled"
assert ray.get(r1) == 2
print("sync queued: dropped")

# 4. A sync actor's running call is not interrupted; it can see the cancel and stop itself.
ref = s.slow.remote(1)
time.sleep(0.3)
ray.cancel(ref)
assert ray.get(ref, timeout=10) == 1, "a running sync call must not be interrupted"
ref = s.watch.remote(10)
time.sleep(0.3)
ray.cancel(ref)
assert ray.get(ref, timeout=10) == "saw cancel"
assert ray.get(s.watch.remote(0.2)) == "ran out"  # The next call is not taken for cancelled.
print("sync running: not interrupted, is_canceled() true")

# 5. A threaded actor (two threads): the third call waits for a thread and is dropped.
t = ThreadedActor.remote()
ray.get(t.slow.remote(0))  # Created and serving.
running = [t.slow.remote(1.5), t.slow.remote(1.5)]
waiting = t.slow.remote(1.5)
time.sleep(0.3)
ray.cancel(waiting)
assert cancelled(waiting), "threaded queued call: not cancelled"
ray.cancel(running[0])  # Running on a thread: goes on.
assert ray.get(running) == [1.5, 1.5]
print("threaded queued: dropped, running goes on")

# 6. force=True on an actor call raises ValueError; the call is left alone.
ref = s.slow.remote(0.5)
try:
    ray.cancel(ref, force=True)
except ValueError as e:
    assert "force=True is not supported for actor tasks" in str(e), e
else:
    raise AssertionError("force=True on an actor call must raise ValueError")
assert ray.get(ref) == 0.5

# 7. Cancelling a finished call or task changes nothing (force too, as in Ray).
done_call = s.slow.remote(0)
assert ray.get(done_call) == 0
ray.cancel(done_call)
ray.cancel(done_call, force=True)
assert ray.get(done_call) == 0


@ray.remote
def quick():
    return "quick"


done_task = quick.remote()
assert ray.get(done_task) == "quick"
ray.cancel(done_task)
assert ray.get(done_task) == "quick"
print("force on an actor call: ValueError; finished: no-op")


# 8. recursive: what a cancelled task submitted is cancelled with it (tasks and actor calls).
@ray.remote
class Keeper:
    def __init__(self):
        self.refs = {}

    def keep(self, named):
        self.refs.update(named)

    def take(self):
        return dict(self.refs)


@ray.remote
def child(seconds):
    time.sleep(seconds)
    return "child done"


@ray.remote
def parent_task(keeper, busy_actor, seconds):
    ray.get(
        keeper.keep.remote(
            {
                "child": child.remote(seconds),
                "actor call": busy_actor.slow.remote(0),
                "middle": middle.remote(keeper, seconds),
            }
        )
    )
    time.sleep(seconds)
    return "parent done"


@ray.remote
def middle(keeper, seconds):
    ray.get(keeper.keep.remote({"grandchild": child.remote(seconds)}))
    time.sleep(seconds)
    return "middle done"


BUSY = 12  # Seconds the parent's actor call waits behind another.


def spawn(recursive):
    """Starts a parent with a child task, a child actor call (queued behind a BUSY s call) and a
    child task with a grandchild; cancels the parent; returns the descendants' refs by name."""
    keeper = Keeper.remote()
    busy = SyncActor.remote()
    ray.get(busy.slow.remote(0))
    busy.slow.remote(BUSY)  # The parent's call to it waits behind this one.
    busy_since = time.monotonic()
    parent = parent_task.remote(keeper, busy, 30)
    deadline = time.monotonic() + 20
    refs = {}
    while len(refs) < 4 and time.monotonic() < deadline:
        refs = ray.get(keeper.take.remote())
        time.sleep(0.05)
    assert len(refs) == 4, f"the tasks did not all start: {sorted(refs)}"
    time.sleep(0.2)  # The grandchild reaches its worker.
    # The call behind the busy one is still queued (else the check below proves nothing).
    assert time.monotonic() - busy_since < BUSY - 1, "the machine is too slow for this check"
    ray.cancel(parent, recursive=recursive)
    assert cancelled(parent), "the parent was not cancelled"
    return refs


kids = spawn(recursive=True)
for name, kid in kids.items():
    assert cancelled(kid, timeout=20), f"recursive: the {name} was not cancelled"
print("recursive: children, actor calls and grandchildren cancelled")

kids = spawn(recursive=False)
assert ray.get(kids.pop("actor call"), timeout=BUSY + 10) == 0, "recursive=False: call cancelled"
for name, kid in kids.items():
    ready, _ = ray.wait([kid], timeout=0.5)
    assert not ready, f"recursive=False: the {name} ended with its parent"
for name, kid in kids.items():
    ray.cancel(kid)  # Not to wait 30 s for them at shutdown.
    assert cancelled(kid), f"the {name} was not cancelled on its own"
print("recursive=False: children left running")

print("cancel: all checks held")
