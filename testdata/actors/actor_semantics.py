"""End to end: actors as Ray Core defines them. Run as `rayx run actor_semantics.py`."""
import asyncio
import os
import threading
import tempfile
import time

import rayx

rayx.init(num_cpus=2)


def expect_raises(kind, thunk, what):
    try:
        thunk()
    except kind as e:
        return e
    raise AssertionError(f"{what}: expected {kind.__name__}")


@rayx.remote
class Account:
    def __init__(self, balance):
        self.balance = balance
        self.log = []

    def deposit(self, amount):
        self.balance += amount
        self.log.append(amount)
        return self.balance

    def history(self):
        return list(self.log)

    def overdraw(self):
        raise ArithmeticError("balance too low")

    @rayx.method(num_returns=2)
    def split(self):
        return self.balance // 2, self.balance - self.balance // 2

    def whoami(self):
        return os.getpid()


# State and order: one caller's calls run in the order made.
acct = Account.remote(5)
refs = [acct.deposit.remote(i) for i in range(50)]
assert rayx.get(refs[-1]) == 5 + sum(range(50))
assert rayx.get(acct.history.remote()) == list(range(50))
# Errors reach the caller as the original type and as RayTaskError; the actor lives on.
err = expect_raises(ArithmeticError, lambda: rayx.get(acct.overdraw.remote()), "method error")
assert isinstance(err, rayx.exceptions.RayTaskError), type(err)
assert rayx.get(acct.deposit.remote(0)) == 5 + sum(range(50))
# num_returns from @rayx.method and from .options().
a, b = acct.split.remote()
assert rayx.get(a) + rayx.get(b) == 5 + sum(range(50))
one = acct.history.options(num_returns=1).remote()
assert len(rayx.get(one)) == 51
# ObjectRef arguments are resolved before the call, and the order still holds.
slow = rayx.put(1000)
assert rayx.get(acct.deposit.remote(slow)) == 5 + sum(range(50)) + 1000
assert rayx.get(acct.whoami.remote()) != os.getpid()
# Calling the class or a method directly is a TypeError.
expect_raises(TypeError, lambda: Account(1), "direct instantiation")
expect_raises(TypeError, lambda: acct.deposit(1), "direct method call")
expect_raises(AttributeError, lambda: acct.no_such_method, "missing method")


# Handles work inside tasks (as arguments and captured in closures) and inside other actors.
@rayx.remote
def deposit_via(handle, amount):
    return rayx.get(handle.deposit.remote(amount))


@rayx.remote
def deposit_captured(amount):
    return rayx.get(acct.deposit.remote(amount))


before = rayx.get(acct.deposit.remote(0))
rayx.get([deposit_via.remote(acct, 1) for _ in range(5)] + [deposit_captured.remote(1) for _ in range(5)])
assert rayx.get(acct.deposit.remote(0)) == before + 10


@rayx.remote
class Teller:
    def __init__(self, account):
        self.account = account

    def pay(self, amount):
        return rayx.get(self.account.deposit.remote(amount))

    def open_account(self):
        self.child = Account.remote(1)  # Owned by this actor's process.
        return self.child


teller = Teller.remote(acct)
assert rayx.get(teller.pay.remote(10)) == before + 20

# Named actors: lookup, conflicts, get_if_exists, namespaces.
bank = Account.options(name="bank").remote(100)
assert rayx.get(rayx.get_actor("bank").deposit.remote(1)) == 101
expect_raises(ValueError, lambda: Account.options(name="bank").remote(0), "name taken")
same = Account.options(name="bank", get_if_exists=True).remote(0)
assert rayx.get(same.deposit.remote(1)) == 102
other = Account.options(name="bank", namespace="elsewhere").remote(7)
assert rayx.get(rayx.get_actor("bank", namespace="elsewhere").deposit.remote(0)) == 7
expect_raises(ValueError, lambda: rayx.get_actor("nobody"), "missing name")
expect_raises(ValueError, lambda: rayx.get_actor("bank", namespace="nowhere"), "wrong namespace")

# Kill: every later call fails with RayActorError; the name is free again.
rayx.kill(bank)
expect_raises(rayx.exceptions.RayActorError, lambda: rayx.get(same.deposit.remote(1), timeout=10), "killed")
expect_raises(ValueError, lambda: rayx.get_actor("bank"), "dead actor's name")
expect_raises(ValueError, lambda: rayx.kill("not a handle"), "kill of a non-handle")

# An actor dies with its owner: the child of a killed actor dies too.
child = rayx.get(teller.open_account.remote())
assert rayx.get(child.deposit.remote(1)) == 2
rayx.kill(teller)
deadline = time.time() + 10
while True:
    try:
        rayx.get(child.deposit.remote(0), timeout=10)
    except rayx.exceptions.RayActorError:
        break
    assert time.time() < deadline, "an actor outlived its owner"
    time.sleep(0.05)


# Restarts: the constructor runs again; calls in flight are retried with max_task_retries.
@rayx.remote(max_restarts=2, max_task_retries=1)
class Phoenix:
    def __init__(self):
        self.started = time.time()

    def pid(self):
        return os.getpid()

    def crash_once(self, marker):
        if not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(1)
        return "survived"


p = Phoenix.remote()
pid1 = rayx.get(p.pid.remote())
# A fresh directory: concurrent runs (in pid namespaces, with equal pids) must not share it.
marker = os.path.join(tempfile.mkdtemp(prefix="rayx-phoenix-"), "crashed")
try:
    assert rayx.get(p.crash_once.remote(marker), timeout=30) == "survived"  # Retried after restart.
finally:
    if os.path.exists(marker):
        os.remove(marker)
pid2 = rayx.get(p.pid.remote())
assert pid2 != pid1
rayx.kill(p, no_restart=False)  # A kill that allows a restart restarts.
assert rayx.get(p.pid.remote(), timeout=30) not in (pid1, pid2)
rayx.kill(p, no_restart=False)  # No restarts left now.
expect_raises(rayx.exceptions.RayActorError, lambda: rayx.get(p.pid.remote(), timeout=10), "past max_restarts")


# A constructor that raises leaves a dead actor.
@rayx.remote
class Broken:
    def __init__(self):
        raise RuntimeError("no")

    def ping(self):
        return 1


expect_raises(rayx.exceptions.ActorDiedError, lambda: rayx.get(Broken.remote().ping.remote(), timeout=10), "constructor error")


# Threaded actors: max_concurrency calls at once, and what they submit gets distinct ids.
@rayx.remote
def square(x):
    return x * x


@rayx.remote(max_concurrency=3)
class Pool:
    def work(self, x):
        start = time.time()
        time.sleep(0.5)
        span = (start, time.time())
        return rayx.get(square.remote(x)), threading.get_ident(), span

    def put_and_get(self, x):
        return rayx.get(rayx.put(x))

    def echo(self, x):
        return x

    def sleep(self, seconds):
        time.sleep(seconds)
        return seconds


pool = Pool.remote()
out = rayx.get([pool.work.remote(i) for i in range(3)])
assert [v for v, _, _ in out] == [0, 1, 4]
assert max(s for _, _, (s, _) in out) < min(e for _, _, (_, e) in out), "threaded calls did not overlap"
assert len({t for _, t, _ in out}) == 3
assert rayx.get([pool.put_and_get.remote(i) for i in range(20)]) == list(range(20))


# Async actors: interleaved on one loop; `await ref` works inside them.
@rayx.remote
class Waiter:
    def __init__(self):
        self.active = 0
        self.peak = 0

    async def wait(self, seconds):
        self.active += 1
        self.peak = max(self.peak, self.active)
        await asyncio.sleep(seconds)
        self.active -= 1
        return self.peak

    async def square_of(self, x):
        return await square.remote(x)

    async def peak_seen(self):
        return self.peak

    async def echo(self, x):
        return x

    async def nap(self, seconds):
        await asyncio.sleep(seconds)
        return seconds


w = Waiter.remote()
rayx.get([w.wait.remote(1.0) for _ in range(20)])
assert rayx.get(w.peak_seen.remote()) == 20  # All twenty were awaiting at once.
assert rayx.get([w.square_of.remote(i) for i in range(5)]) == [0, 1, 4, 9, 16]


# A burst of calls to a threaded or an async actor: the results of calls that end together travel
# together, each to its own ref. A quick call's result never waits for a slow call's end.
def quick_calls_answer_while_a_slow_one_runs(actor, slow):
    assert rayx.get([actor.echo.remote(i) for i in range(2000)]) == list(range(2000))
    running = slow.remote(4.0)
    start = time.time()
    for i in range(20):
        assert rayx.get(actor.echo.remote(i), timeout=30) == i
    took = time.time() - start
    ready, _ = rayx.wait([running], timeout=0)
    assert not ready and took < 3.0, f"quick calls took {took:.2f} s beside a slow one"
    assert rayx.get(running, timeout=30) == 4.0


quick_calls_answer_while_a_slow_one_runs(pool, pool.sleep)
quick_calls_answer_while_a_slow_one_runs(w, w.nap)


# Resources: a default actor takes a CPU only to be placed; an explicit num_cpus holds it.
def cpus_free():
    return rayx.available_resources().get("CPU", 0)


time.sleep(0.2)
free = cpus_free()
holder = Account.options(num_cpus=1).remote(0)
rayx.get(holder.deposit.remote(0))
assert cpus_free() == free - 1, (free, cpus_free())
rayx.kill(holder)
time.sleep(0.2)
assert cpus_free() == free, (free, cpus_free())
print("actor semantics: all checks held")
