"""Helpers shared by the object store's end-to-end scripts."""
import os
import time

from rayx._private.worker import object_store_stats

MB = 1024 * 1024


def wait_until(what, pred, timeout=20.0):
    """Polls pred until it holds; fails with the store's figures after timeout seconds."""
    deadline = time.time() + timeout
    while not pred():
        if time.time() > deadline:
            raise AssertionError(f"{what} did not happen: {object_store_stats()}")
        time.sleep(0.02)


def store_is_empty():
    s = object_store_stats()
    files = [f for f in os.listdir(s["store_dir"]) if f not in ("node.sock", ".lock", "workers")]
    return s["used"] == 0 and s["spilled_bytes"] == 0 and not files and not os.listdir(s["spill_dir"])
