"""Ray Core in twenty lines: tasks, object refs, and an actor. `rayx run quickstart.py`."""

import ray

ray.init(num_cpus=2)


@ray.remote
def square(x: int) -> int:
    return x * x


@ray.remote
class Counter:
    def __init__(self):
        self.total = 0

    def add(self, value: int) -> int:
        self.total += value
        return self.total


refs = [square.remote(i) for i in range(10)]  # Ten tasks, running in parallel.
print("squares:", ray.get(refs))
summed = ray.get(square.remote(ray.put(12)))  # A ref as an argument arrives as its value.
counter = Counter.remote()
for ref in refs:  # Calls to one actor run in order.
    counter.add.remote(ref)
print("sum of squares:", ray.get(counter.add.remote(0)), "and 12 squared:", summed)
