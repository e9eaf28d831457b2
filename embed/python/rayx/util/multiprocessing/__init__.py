"""`ray.util.multiprocessing`: Python's ``multiprocessing.Pool`` API, run on rayx actors.

``from ray.util.multiprocessing import Pool`` is a drop-in for ``multiprocessing.Pool``: the
pool's processes are actors, so the functions may use rayx themselves. `TimeoutError` is
``multiprocessing.TimeoutError``.
"""

from multiprocessing import TimeoutError

from rayx.util.multiprocessing.pool import AsyncResult, IMapIterator, Pool

__all__ = ["AsyncResult", "IMapIterator", "Pool", "TimeoutError"]
