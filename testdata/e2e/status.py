"""End to end: `rayx status` shows this driver's node, its resources and its object store.

Run by script_test.sh as `rayx run status.py`.
"""
import json
import os
import subprocess

import numpy as np
import rayx

info = rayx.init(num_cpus=2, resources={"widget": 3}, object_store_memory=64 * 1024 * 1024)
rayx_binary = os.readlink("/proc/self/exe")
arrays = [rayx.put(np.full(4 * 1024 * 1024, i, dtype=np.int64)) for i in range(3)]  # 3 x 32 MiB


def my_node() -> dict:
    out = subprocess.run([rayx_binary, "status", "--json"], capture_output=True, text=True, check=True)
    nodes = [n for n in json.loads(out.stdout)["nodes"] if n["node_id"] == info["node_id"]]
    assert len(nodes) == 1, out.stdout
    return nodes[0]


node = my_node()
total = dict(node["total"])
assert total.pop("memory") > 0, node  # The memory resource: what was available, less the store.
assert node["alive"] and total == {"CPU": 2, "widget": 3}, node
store = node["object_store"]
assert store["capacity"] == 64 * 1024 * 1024, store
assert store["objects"] >= 3 and store["used"] <= store["capacity"], store
assert store["spilled"] >= 1 and store["spill_count"] >= 1, store  # 96 MiB cannot fit in 64 MiB.

text = subprocess.run([rayx_binary, "status"], capture_output=True, text=True, check=True).stdout
assert info["node_id"] in text and "widget 3" in text, text
del arrays
print("status: all checks held")
