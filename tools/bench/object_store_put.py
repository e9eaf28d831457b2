# Measures rayx.put of an 800 MB numpy array against numpy copyto into a fresh buffer (medians of 5).
# Run: RAYX_HOME=DIR bazel-bin/rayx run tools/bench/object_store_put.py
import gc, statistics, time, sys
import numpy as np
import rayx
from rayx._private.worker import object_store_stats
MB = 1024 * 1024
SIZE = 800 * 1000 * 1000
rayx.init(num_cpus=1, object_store_memory=int(sys.argv[1]) if len(sys.argv) > 1 else 4000 * MB)
a = np.random.default_rng(0).integers(0, 255, SIZE, dtype=np.uint8)

def timeit(fn, n=5):
    out = []
    for _ in range(n):
        gc.collect()
        t = time.perf_counter(); r = fn(); out.append(time.perf_counter() - t)
        del r
    return statistics.median(out)

def copy():
    b = np.empty_like(a); np.copyto(b, a); return b

t_copy = timeit(copy)
t_put = timeit(lambda: rayx.put(a))
print(f"800 MB: numpy copyto fresh buffer {SIZE/t_copy/1e9:.2f} GB/s ({t_copy*1e3:.0f} ms); "
      f"rayx.put {SIZE/t_put/1e9:.2f} GB/s ({t_put*1e3:.0f} ms)")
