"""End to end: CPU, GPU and custom resources bound what runs at once.

Run by script_test.sh as `rayx run resources.py`.
"""
import os
import time

import rayx

rayx.init(num_cpus=3, num_gpus=2, resources={"disk": 2})


@rayx.remote
def interval(seconds):
    begin = time.time()
    time.sleep(seconds)
    return begin, time.time()


def most_at_once(intervals):
    edges = sorted([(b, 1) for b, _ in intervals] + [(e, -1) for _, e in intervals])
    now = best = 0
    for _, delta in edges:
        now += delta
        best = max(best, now)
    return best


assert most_at_once(rayx.get([interval.remote(0.25) for _ in range(9)])) == 3
assert most_at_once(rayx.get([interval.options(num_cpus=1.5).remote(0.25) for _ in range(4)])) == 2
assert most_at_once(rayx.get([interval.options(num_cpus=0, resources={"disk": 1}).remote(0.25)
                              for _ in range(4)])) == 2


# Half a GPU each: four tasks share two GPUs, two per device, and each sees only its own device.
@rayx.remote(num_gpus=0.5, num_cpus=0)
def on_gpu():
    begin = time.time()
    ids = rayx.get_gpu_ids()
    time.sleep(0.3)
    return ids, os.environ["CUDA_VISIBLE_DEVICES"], begin, time.time()


runs = rayx.get([on_gpu.remote() for _ in range(4)])
assert most_at_once([(b, e) for _, _, b, e in runs]) == 4
assert sorted(r[0][0] for r in runs) == [0, 0, 1, 1], runs
assert all(r[1] == str(r[0][0]) for r in runs)
try:
    interval.options(num_gpus=1.5).remote(0)
    raise AssertionError("1.5 GPUs accepted")
except ValueError:
    pass

totals = rayx.cluster_resources()
assert (totals["CPU"], totals["GPU"], totals["disk"]) == (3, 2, 2), totals
deadline = time.time() + 5
while rayx.available_resources().get("CPU") != 3 and time.time() < deadline:
    time.sleep(0.05)
assert rayx.available_resources()["CPU"] == 3

# A task no node can run waits and is reported once on stderr (checked by the caller).
stuck = interval.options(resources={"tpu": 1}).remote(0)
assert rayx.wait([stuck], timeout=0.5)[0] == []
print("resources: all checks held")
