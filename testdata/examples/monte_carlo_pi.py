"""Estimates pi by sampling, after Ray's Monte Carlo example: sampling tasks report their
progress to an actor, and the driver prints it while they run.

    rayx run monte_carlo_pi.py            # 8 tasks of 200,000 samples
    rayx run monte_carlo_pi.py --large    # 32 tasks of 2,000,000 samples

Exits 1 when the estimate is further from pi than the sampling error allows.
"""

import math
import random
import sys
import time

import ray


@ray.remote
class ProgressActor:
    """Holds how many samples each task has done."""

    def __init__(self, total_samples: int):
        self.total_samples = total_samples
        self.done_by_task: dict = {}

    def report(self, task_id: int, samples_done: int) -> None:
        self.done_by_task[task_id] = samples_done

    def progress(self) -> float:
        return sum(self.done_by_task.values()) / self.total_samples


@ray.remote
def sample(task_id: int, num_samples: int, progress: "ray.actor.ActorHandle") -> int:
    """Counts the random points of the unit square that fall in the quarter circle."""
    rng = random.Random(task_id)
    inside = 0
    for i in range(num_samples):
        x, y = rng.random(), rng.random()
        if x * x + y * y <= 1:
            inside += 1
        if (i + 1) % 20_000 == 0:  # Report now and then, not per sample.
            progress.report.remote(task_id, i + 1)
    progress.report.remote(task_id, num_samples)
    return inside


def main() -> int:
    large = "--large" in sys.argv
    num_tasks, per_task = (32, 2_000_000) if large else (8, 200_000)
    total = num_tasks * per_task
    ray.init()
    progress = ProgressActor.remote(total)
    refs = [sample.remote(i, per_task, progress) for i in range(num_tasks)]
    start = time.monotonic()
    while True:
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0.1)
        print(f"progress: {ray.get(progress.progress.remote()):.0%}")
        if len(ready) == len(refs):
            break
    pi = 4 * sum(ray.get(refs)) / total
    # The estimate's standard deviation is 4 * sqrt(p(1-p)/n), p = pi/4: allow 5 of them.
    tolerance = 5 * 4 * math.sqrt((math.pi / 4) * (1 - math.pi / 4) / total)
    print(f"estimated pi = {pi:.5f} from {total:,} samples in {time.monotonic() - start:.1f} s "
          f"(error {abs(pi - math.pi):.5f}, tolerance {tolerance:.5f})")
    if abs(pi - math.pi) > tolerance:
        print("pi is off by more than the tolerance")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
