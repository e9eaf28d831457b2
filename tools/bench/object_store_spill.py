# Measures spill and restore of an 800 MB object through a 900 MiB store (medians of 5); compare
# with dd if=/dev/zero of=F bs=1M count=800 conv=fdatasync on the disk that holds RAYX_HOME.
# Run as root to drop the page cache before each restore: RAYX_HOME=DIR bazel-bin/rayx run tools/bench/object_store_spill.py
import gc, statistics, time, os
import numpy as np
import rayx
from rayx._private.worker import object_store_stats
SIZE = 800 * 1000 * 1000
rayx.init(num_cpus=1, object_store_memory=900 * 1024 * 1024)
a = np.random.default_rng(0).integers(0, 255, SIZE, dtype=np.uint8)
put_t, spill_t, restore_t = [], [], []
for i in range(5):
    t = time.perf_counter(); A = rayx.put(a); put_t.append(time.perf_counter() - t)
    s0 = object_store_stats()["spill_count"]
    t = time.perf_counter(); B = rayx.put(a); tb = time.perf_counter() - t
    assert object_store_stats()["spill_count"] == s0 + 1
    spill_t.append(tb - put_t[-1])  # put B = write B + spill A
    del B; gc.collect()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f: f.write("1")
    except OSError:
        pass
    r0 = object_store_stats()["restore_count"]
    t = time.perf_counter(); v = rayx.get(A); restore_t.append(time.perf_counter() - t)
    assert object_store_stats()["restore_count"] == r0 + 1 and v[123] == a[123]
    del v, A; gc.collect()
m = statistics.median
print(f"put {SIZE/m(put_t)/1e9:.2f} GB/s; spill (put of B minus a plain put) {SIZE/m(spill_t)/1e9:.2f} GB/s "
      f"[{', '.join(f'{x*1e3:.0f}' for x in spill_t)} ms]; restore (get of a spilled object) "
      f"{SIZE/m(restore_t)/1e9:.2f} GB/s [{', '.join(f'{x*1e3:.0f}' for x in restore_t)} ms]")
