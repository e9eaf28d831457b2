"""`Pool`: ``multiprocessing.Pool`` over a set of actors, after Ray's ``ray.util.multiprocessing``.

Each of the pool's processes is an actor that ran the initializer once. Work is cut into chunks
(lists of calls); each chunk is one actor call, given to the actors in turn, and a chunk's
results come back as one list. An exception raised by the function is caught per item and
raised again by whoever reads that item's result, as in ``multiprocessing``.
"""

from __future__ import annotations

import itertools
import threading
from multiprocessing import TimeoutError
from typing import Any, Callable, Iterable, Iterator, Optional

import rayx
from rayx import exceptions

__all__ = ["AsyncResult", "IMapIterator", "Pool"]


class _PoolTaskError:
    """Stands in a chunk's results for an item whose call raised `underlying`."""

    def __init__(self, underlying: BaseException):
        self.underlying = underlying


class _PoolActor:
    """One process of a pool."""

    def __init__(self, initializer: Optional[Callable], initargs: tuple):
        if initializer is not None:
            initializer(*initargs)

    def ping(self) -> None:
        return None

    def run_batch(self, func: Callable, batch: list) -> list:
        results = []
        for args, kwargs in batch:
            try:
                results.append(func(*args, **kwargs))
            except Exception as e:
                results.append(_PoolTaskError(e))
        return results


_actor_class: Optional[Any] = None


def _pool_actor_class() -> Any:
    global _actor_class
    if _actor_class is None:
        _actor_class = rayx.remote(_PoolActor)
    return _actor_class


def _get(refs: list, timeout: Optional[float]) -> list:
    try:
        return rayx.get(refs, timeout=timeout)
    except exceptions.GetTimeoutError:
        raise TimeoutError from None


class AsyncResult:
    """The result of `Pool.apply_async` and `Pool.map_async` (``multiprocessing``'s API)."""

    def __init__(
        self,
        chunk_refs: list,
        single: bool,
        callback: Optional[Callable] = None,
        error_callback: Optional[Callable] = None,
    ):
        self._refs = chunk_refs
        self._single = single
        self._done = threading.Event()
        self._value: Any = None
        self._error: Optional[BaseException] = None
        self._callbacks_done: Optional[threading.Event] = None
        if callback is not None or error_callback is not None:
            self._callbacks_done = threading.Event()
            threading.Thread(
                target=self._run_callbacks, args=(callback, error_callback), daemon=True
            ).start()

    def _resolve(self, timeout: Optional[float]) -> None:
        if self._done.is_set():
            return
        chunks = _get(self._refs, timeout)
        values = []
        error = None
        for chunk in chunks:
            for item in chunk:
                if isinstance(item, _PoolTaskError):
                    error = error or item.underlying
                values.append(item)
        self._error = error
        self._value = values[0] if self._single else values
        self._done.set()

    def _resolve_or_fail(self, timeout: Optional[float]) -> None:
        try:
            self._resolve(timeout)
        except TimeoutError:
            raise
        except Exception as e:  # The actor died, or the call failed as a whole.
            self._error = e
            self._done.set()

    def _run_callbacks(self, callback: Optional[Callable], error_callback: Optional[Callable]):
        try:
            self._resolve_or_fail(None)
            if self._error is None:
                if callback is not None:
                    callback(self._value)
            elif error_callback is not None:
                error_callback(self._error)
        finally:
            self._callbacks_done.set()

    def get(self, timeout: Optional[float] = None) -> Any:
        """Returns the result, waiting up to timeout seconds.

        Raises:
            multiprocessing.TimeoutError: not ready within timeout.
            Exception: what the function raised (for a map, the first item's error).
        """
        self.wait(timeout)
        if not self.ready():
            raise TimeoutError
        if self._error is not None:
            raise self._error
        return self._value

    def wait(self, timeout: Optional[float] = None) -> None:
        """Waits until the result is ready or timeout seconds have passed."""
        try:
            self._resolve_or_fail(timeout)
        except TimeoutError:
            return
        if self._callbacks_done is not None:
            self._callbacks_done.wait(timeout)

    def ready(self) -> bool:
        """Returns True when the call has finished (and its callback, if any, has run)."""
        if not self._done.is_set():
            if self._refs:
                ready, _ = rayx.wait(self._refs, num_returns=len(self._refs), timeout=0)
                if len(ready) < len(self._refs):
                    return False
            self._resolve_or_fail(None)
        return self._callbacks_done is None or self._callbacks_done.is_set()

    def successful(self) -> bool:
        """Returns True when the call finished without raising.

        Raises:
            ValueError: the result is not ready yet.
        """
        if not self.ready():
            raise ValueError(f"{self!r} not ready")
        return self._error is None


class IMapIterator:
    """The iterator of `Pool.imap` (in order) and `Pool.imap_unordered` (as chunks finish)."""

    def __init__(self, chunk_refs: list, ordered: bool):
        self._pending = list(chunk_refs)
        self._ordered = ordered
        self._buffer: list = []

    def __iter__(self) -> "IMapIterator":
        return self

    def __next__(self) -> Any:
        return self.next()

    def next(self, timeout: Optional[float] = None) -> Any:
        """Returns the next result, waiting up to timeout seconds.

        Raises:
            StopIteration: every result has been read.
            multiprocessing.TimeoutError: the next result was not ready within timeout.
            Exception: what the function raised for this item (iteration can go on).
        """
        while not self._buffer:
            if not self._pending:
                raise StopIteration
            if self._ordered:
                ref = self._pending[0]
            else:
                ready, _ = rayx.wait(self._pending, num_returns=1, timeout=timeout)
                if not ready:
                    raise TimeoutError
                ref = ready[0]
            [chunk] = _get([ref], timeout)
            self._pending.remove(ref)
            self._buffer.extend(chunk)
        item = self._buffer.pop(0)
        if isinstance(item, _PoolTaskError):
            raise item.underlying
        return item


_RUN, _CLOSE, _TERMINATE = "RUN", "CLOSE", "TERMINATE"


class Pool:
    """A pool of `processes` actors with ``multiprocessing.Pool``'s methods.

    Args:
        processes: how many actors (default: the cluster's CPUs). When this starts rayx, the
            node gets that many CPUs.
        initializer: called as ``initializer(*initargs)`` in each actor when it starts.
        initargs: the initializer's arguments.
        maxtasksperchild: accepted for compatibility; actors are not replaced.
        context: accepted for compatibility (multiprocessing's start method); not used.
        ray_address: the address to init rayx with, when it is not initialized yet.
        ray_remote_args: options for the actors (as given to ``.options(...)``).

    Raises:
        ValueError: processes is below 1, or above the CPUs of an initialized cluster.
    """

    def __init__(
        self,
        processes: Optional[int] = None,
        initializer: Optional[Callable] = None,
        initargs: Optional[Iterable] = None,
        maxtasksperchild: Optional[int] = None,
        context: Any = None,
        ray_address: Optional[str] = None,
        ray_remote_args: Optional[dict] = None,
    ):
        if processes is not None and processes < 1:
            raise ValueError("Processes must be at least 1")
        if initializer is not None and not callable(initializer):
            raise TypeError("initializer must be a callable")
        if not rayx.is_initialized():
            if ray_address is not None:
                rayx.init(address=ray_address)
            else:
                rayx.init(num_cpus=processes)
        cpus = int(rayx.cluster_resources().get("CPU", 1))
        if processes is None:
            processes = max(1, cpus)
        elif processes > cpus:
            raise ValueError(
                f"Tried to start a pool with {processes} processes on an existing ray cluster, "
                f"but there are only {cpus} CPUs in the ray cluster."
            )
        self._processes = processes
        self._state = _RUN
        actor_class = _pool_actor_class().options(**(ray_remote_args or {}))
        args = tuple(initargs or ())
        self._actors = [actor_class.remote(initializer, args) for _ in range(processes)]
        self._next_actor = itertools.cycle(range(processes))

    def __enter__(self) -> "Pool":
        self._check_running()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.terminate()

    def __repr__(self) -> str:
        return f"<rayx.util.multiprocessing.Pool state={self._state} pool_size={self._processes}>"

    def __reduce__(self):
        raise NotImplementedError(
            "pool objects cannot be passed between processes or pickled"
        )

    def _check_running(self) -> None:
        if self._state != _RUN:
            raise ValueError("Pool not running")

    def _submit_chunk(self, func: Callable, chunk: list) -> Any:
        actor = self._actors[next(self._next_actor)]
        return actor.run_batch.remote(func, chunk)

    def _chunked(self, func: Callable, calls: list, chunksize: int) -> list:
        return [
            self._submit_chunk(func, calls[i : i + chunksize])
            for i in range(0, len(calls), chunksize)
        ]

    def _default_chunksize(self, n: int) -> int:
        chunksize, extra = divmod(n, self._processes * 4)
        return chunksize + 1 if extra else max(chunksize, 1)

    # --- apply ---

    def apply(self, func: Callable, args: tuple = (), kwds: Optional[dict] = None) -> Any:
        """Calls func(*args, **kwds) in one of the pool's actors and returns its result."""
        return self.apply_async(func, args, kwds).get()

    def apply_async(
        self,
        func: Callable,
        args: tuple = (),
        kwds: Optional[dict] = None,
        callback: Optional[Callable] = None,
        error_callback: Optional[Callable] = None,
    ) -> AsyncResult:
        """Starts func(*args, **kwds) in an actor; returns an `AsyncResult` at once.

        callback(result) or error_callback(exception) runs in a thread of this process when the
        call ends.
        """
        self._check_running()
        ref = self._submit_chunk(func, [(tuple(args), dict(kwds or {}))])
        return AsyncResult([ref], True, callback, error_callback)

    # --- map ---

    def map(self, func: Callable, iterable: Iterable, chunksize: Optional[int] = None) -> list:
        """Returns [func(x) for x in iterable], computed in the pool's actors.

        Raises:
            Exception: the first error raised by func, in the order of iterable.
        """
        return self.map_async(func, iterable, chunksize).get()

    def map_async(
        self,
        func: Callable,
        iterable: Iterable,
        chunksize: Optional[int] = None,
        callback: Optional[Callable] = None,
        error_callback: Optional[Callable] = None,
    ) -> AsyncResult:
        """`map` without waiting: returns an `AsyncResult` whose get() gives the list."""
        return self._map_async(func, [((x,), {}) for x in iterable], chunksize, callback,
                               error_callback)

    def starmap(self, func: Callable, iterable: Iterable, chunksize: Optional[int] = None) -> list:
        """Returns [func(*args) for args in iterable], computed in the pool's actors."""
        return self.starmap_async(func, iterable, chunksize).get()

    def starmap_async(
        self,
        func: Callable,
        iterable: Iterable,
        chunksize: Optional[int] = None,
        callback: Optional[Callable] = None,
        error_callback: Optional[Callable] = None,
    ) -> AsyncResult:
        """`starmap` without waiting: returns an `AsyncResult` whose get() gives the list."""
        return self._map_async(func, [(tuple(a), {}) for a in iterable], chunksize, callback,
                               error_callback)

    def _map_async(self, func, calls, chunksize, callback, error_callback) -> AsyncResult:
        self._check_running()
        if chunksize is None:
            chunksize = self._default_chunksize(len(calls))
        elif chunksize < 1:
            raise ValueError(f"Chunksize must be 1+, not {chunksize}")
        return AsyncResult(self._chunked(func, calls, chunksize), False, callback, error_callback)

    def imap(self, func: Callable, iterable: Iterable, chunksize: int = 1) -> IMapIterator:
        """Returns an iterator of func(x) for x in iterable, in order, as results arrive."""
        return self._imap(func, iterable, chunksize, ordered=True)

    def imap_unordered(self, func: Callable, iterable: Iterable, chunksize: int = 1) -> IMapIterator:
        """Like `imap`, but yields results in the order they finish."""
        return self._imap(func, iterable, chunksize, ordered=False)

    def _imap(self, func, iterable, chunksize, ordered) -> IMapIterator:
        self._check_running()
        if chunksize < 1:
            raise ValueError(f"Chunksize must be 1+, not {chunksize:n}")
        calls = [((x,), {}) for x in iterable]
        return IMapIterator(self._chunked(func, calls, chunksize), ordered)

    # --- life cycle ---

    def close(self) -> None:
        """Stops the pool taking work; what was submitted still runs. Then call `join`."""
        if self._state == _RUN:
            self._state = _CLOSE

    def terminate(self) -> None:
        """Ends the pool's actors at once; results not yet read are lost."""
        self._state = _TERMINATE
        for actor in self._actors:
            try:
                rayx.kill(actor)
            except Exception:
                pass
        self._actors = []

    def join(self) -> None:
        """Waits until the work submitted before `close` has finished, then ends the actors.

        Raises:
            ValueError: the pool is still running (neither closed nor terminated).
        """
        if self._state == _RUN:
            raise ValueError("Pool is still running")
        if self._state == _CLOSE:
            pings = [actor.ping.remote() for actor in self._actors]
            rayx.wait(pings, num_returns=len(pings))
            self.terminate()

    def __del__(self) -> None:
        try:
            if self._actors:
                self.terminate()
        except BaseException:
            pass
