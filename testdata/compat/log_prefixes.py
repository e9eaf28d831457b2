"""End to end: worker output as the driver sees it, as Ray's logging guide describes it.

Run by script_test.sh as `rayx run log_prefixes.py`. Each case runs a small driver in a
subprocess (the rayx binary, as sys.executable) and reads its output: a task's lines are prefixed
"(task_name pid=N) ", an actor's "(ClassName pid=N) " or, when its class defines __repr__,
"(<repr> pid=N) "; identical lines (but for numbers) from several workers within the window are
printed once, then once more with "[repeated Nx across cluster]" (RAY_DEDUP_LOGS, on by default),
and RAY_DEDUP_LOGS=0 prints them all.
"""
import os
import re
import subprocess
import sys


def run(code, **env):
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
        env={**os.environ, **env},
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout, out.stderr


PREFIXES = r'''
import os, sys
import rayx

rayx.init(num_cpus=2)


@rayx.remote
def chatty():
    print("hello from a task")
    print("a task's warning", file=sys.stderr)
    return os.getpid()


@rayx.remote
class Plain:
    def say(self):
        print("hello from a plain actor")
        return os.getpid()


@rayx.remote
class Counter:
    def __init__(self, index):
        self.index = index

    def __repr__(self):
        return f"Counter(id={self.index})"

    def say(self):
        print("hello from a counter")
        print("a counter's warning", file=sys.stderr)
        return os.getpid()


print("pids", rayx.get(chatty.remote()), rayx.get(chatty.options(name="custom").remote()),
      rayx.get(Plain.remote().say.remote()), rayx.get(Counter.remote(3).say.remote()), flush=True)
'''

out, err = run(PREFIXES, RAY_DEDUP_LOGS="0")
task, custom, plain, counter = re.search(r"^pids (\d+) (\d+) (\d+) (\d+)$", out, re.M).groups()
for line, stream in [
    (f"(chatty pid={task}) hello from a task", out),
    (f"(chatty pid={task}) a task's warning", err),
    (f"(custom pid={custom}) hello from a task", out),
    (f"(Plain pid={plain}) hello from a plain actor", out),
    (f"(Counter(id=3) pid={counter}) hello from a counter", out),
    (f"(Counter(id=3) pid={counter}) a counter's warning", err),
]:
    assert line in stream.splitlines(), (line, out, err)

DEDUP = r'''
import time
import rayx

rayx.init(num_cpus=4)


@rayx.remote
def verbose(i):
    time.sleep(0.4)
    print(f"hello world, id={time.time()}")
    return i


@rayx.remote
def warm():
    time.sleep(0.5)


rayx.get([warm.remote() for _ in range(4)])  # Four workers, so that four sources print.
rayx.get([verbose.remote(i) for i in range(12)])
time.sleep(float("LINGER"))
print("driver done", flush=True)
'''


def hello_lines(out):
    return [line for line in out.splitlines() if "hello world, id=" in line]


def repeats(lines):
    return [int(n) for line in lines for n in re.findall(r"\[repeated (\d+)x across cluster\]", line)]


# On by default: held back until the driver ends (the window, 5 s, has not passed); every line is
# either printed or counted, and some are counted.
out, _ = run(DEDUP.replace("LINGER", "0"))
lines = hello_lines(out)
counted = repeats(lines)
assert len(counted) == 1 and counted[0] >= 2, out
assert len(lines) - 1 + counted[0] == 12, out
assert "Set RAY_DEDUP_LOGS=0 to disable" in out, out
assert out.index("driver done") < out.index("repeated"), out  # Let out when the node stopped.
assert all(re.match(r"^\(verbose pid=\d+\) hello world, id=", line) for line in lines), out

# A window of 1 s: the count comes out while the driver still runs.
out, _ = run(DEDUP.replace("LINGER", "2.5"), RAY_DEDUP_LOGS_AGG_WINDOW_S="1")
lines = hello_lines(out)
counted = repeats(lines)
assert sum(counted) >= 2 and len(lines) - len(counted) + sum(counted) == 12, out
assert out.index("repeated") < out.index("driver done"), out

# Off: every line.
out, _ = run(DEDUP.replace("LINGER", "0"), RAY_DEDUP_LOGS="0")
assert len(hello_lines(out)) == 12 and "repeated" not in out, out
print("log prefixes: all checks held")
