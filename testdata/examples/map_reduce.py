"""Map-reduce two ways, after Ray's examples:

1. word count: generated text is split into chunks, map tasks count the words of each chunk,
   reduce tasks merge the counts of one share of the words each;
2. a tree reduction: large numpy arrays are summed pairwise by tasks, log2(n) levels deep,
   the arrays travelling through the shared-memory object store.

    rayx run map_reduce.py            # 20,000 lines; 16 arrays of 1M float64 (8 MB each)
    rayx run map_reduce.py --large    # 400,000 lines; 64 arrays of 4M float64 (32 MB each)

Each result is checked against the same computation done in the driver; exits 1 on a mismatch.
"""

import collections
import random
import sys
import time

import numpy as np

import ray

WORDS = ("ray", "task", "actor", "object", "node", "worker", "driver", "store", "ref", "core")


def generate_text(num_lines: int, seed: int = 0) -> list:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))) for _ in range(num_lines)]


@ray.remote
def map_counts(lines: list, num_reducers: int) -> list:
    """Counts the words of some lines, split into one Counter per reducer (by word hash)."""
    shares = [collections.Counter() for _ in range(num_reducers)]
    for line in lines:
        for word in line.split():
            shares[sum(word.encode()) % num_reducers][word] += 1
    return shares


@ray.remote
def reduce_counts(reducer: int, *mapped: list) -> dict:
    """Merges one reducer's share of every mapper's counts."""
    total: collections.Counter = collections.Counter()
    for shares in mapped:
        total.update(shares[reducer])
    return dict(total)


def word_count(lines: list, num_mappers: int, num_reducers: int) -> dict:
    size = (len(lines) + num_mappers - 1) // num_mappers
    mapped = [map_counts.remote(lines[i:i + size], num_reducers) for i in range(0, len(lines), size)]
    reduced = ray.get([reduce_counts.remote(r, *mapped) for r in range(num_reducers)])
    counts: dict = {}
    for part in reduced:
        counts.update(part)
    return counts


@ray.remote
def make_array(seed: int, size: int) -> np.ndarray:
    return np.random.default_rng(seed).random(size)


@ray.remote
def add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a + b


def tree_sum(refs: list) -> "ray.ObjectRef":
    """Sums the arrays pairwise, level by level, without bringing any to the driver."""
    while len(refs) > 1:
        pairs = [add.remote(refs[i], refs[i + 1]) for i in range(0, len(refs) - 1, 2)]
        refs = pairs + ([refs[-1]] if len(refs) % 2 else [])
    return refs[0]


def main() -> int:
    large = "--large" in sys.argv
    num_lines, num_arrays, array_size = (400_000, 64, 4_000_000) if large else (20_000, 16, 1_000_000)
    ray.init()
    ok = True

    start = time.monotonic()
    lines = generate_text(num_lines)
    counts = word_count(lines, num_mappers=8, num_reducers=4)
    expected = collections.Counter(word for line in lines for word in line.split())
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    print(f"word count: {sum(counts.values()):,} words, {len(counts)} distinct, "
          f"top {top}, {time.monotonic() - start:.2f} s")
    if counts != dict(expected):
        print("word count: mismatch with the driver's count")
        ok = False

    start = time.monotonic()
    arrays = [make_array.remote(seed, array_size) for seed in range(num_arrays)]
    total = ray.get(tree_sum(arrays))
    elapsed = time.monotonic() - start
    expected_sum = sum(np.random.default_rng(seed).random(array_size) for seed in range(num_arrays))
    print(f"tree reduction: {num_arrays} arrays of {array_size:,} float64 "
          f"({array_size * 8 / 1e6:.0f} MB each), sum of all elements {total.sum():,.1f}, "
          f"{elapsed:.2f} s")
    if not np.allclose(total, expected_sum):
        print("tree reduction: mismatch with the driver's sum")
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
