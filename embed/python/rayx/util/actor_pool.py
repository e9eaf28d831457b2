"""`ActorPool`: spreads work over a fixed set of actors, as Ray's ``ray.util.ActorPool`` does.

The pool hands each submitted value to an idle actor (the most recently returned one first);
when none is idle the submission waits in the pool, in order, and goes to the next actor that
comes back. Results are read in submission order (`get_next`) or in completion order
(`get_next_unordered`); reading a result returns its actor to the pool.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Optional

import rayx

__all__ = ["ActorPool"]

_TIMEOUT_MESSAGE = "Timed out waiting for result"


def _key(future: Any) -> Any:
    """A hashable key for what a submit function returned (a ref, or a list of refs)."""
    return tuple(future) if isinstance(future, list) else future


def _refs(future: Any) -> list:
    return list(future) if isinstance(future, (list, tuple)) else [future]


class ActorPool:
    """A pool of actors sharing work submitted through ``fn(actor, value)`` functions.

    Example::

        pool = ActorPool([Doubler.remote(), Doubler.remote()])
        list(pool.map(lambda a, v: a.double.remote(v), [1, 2, 3]))  # [2, 4, 6]

    Not thread-safe: use a pool from one thread.
    """

    def __init__(self, actors: list):
        """Makes a pool of these actor handles (they all start idle)."""
        self._idle_actors = list(actors)
        # future key -> (submission index, actor)
        self._future_to_actor: dict = {}
        # submission index -> future
        self._index_to_future: dict = {}
        self._next_task_index = 0
        self._next_return_index = 0
        # (fn, value) waiting for an actor, in submission order
        self._pending_submits: list = []

    def map(self, fn: Callable[[Any, Any], Any], values: Iterable) -> Iterator:
        """Applies fn(actor, value) to every value; yields the results in the order of values.

        Results still unread from earlier submissions are dropped first. A value whose call
        raised raises from the iterator at its place.
        """
        while self.has_next():
            try:
                self.get_next(timeout=0, ignore_if_timedout=True)
            except TimeoutError:
                pass
        for v in values:
            self.submit(fn, v)

        def get_generator() -> Iterator:
            while self.has_next():
                yield self.get_next()

        return get_generator()

    def map_unordered(self, fn: Callable[[Any, Any], Any], values: Iterable) -> Iterator:
        """Like `map`, but yields each result as soon as it is ready.

        Results still unread from earlier submissions are waited for and dropped first.
        """
        while self.has_next():
            try:
                self.get_next_unordered(timeout=0)
            except TimeoutError:
                pass
        for v in values:
            self.submit(fn, v)

        def get_generator() -> Iterator:
            while self.has_next():
                yield self.get_next_unordered()

        return get_generator()

    def submit(self, fn: Callable[[Any, Any], Any], value: Any) -> None:
        """Calls fn(actor, value) on an idle actor, or queues it until an actor is returned.

        fn must call a method of the actor and return its ObjectRef (or list of ObjectRefs).
        """
        if self._idle_actors:
            actor = self._idle_actors.pop()
            future = fn(actor, value)
            self._future_to_actor[_key(future)] = (self._next_task_index, actor)
            self._index_to_future[self._next_task_index] = future
            self._next_task_index += 1
        else:
            self._pending_submits.append((fn, value))

    def has_next(self) -> bool:
        """Returns True when a submitted call's result is still to be read."""
        return bool(self._future_to_actor)

    def get_next(self, timeout: Optional[float] = None, ignore_if_timedout: bool = False) -> Any:
        """Returns the next result in submission order, waiting up to timeout seconds.

        Raises:
            StopIteration: no result is left to read.
            TimeoutError: the result was not ready in time. With ignore_if_timedout the result
                is dropped (its actor goes back to the pool) and the next call moves on.
            ValueError: get_next_unordered already read a later result.
            Exception: what the call raised (the pool stays usable).
        """
        if not self.has_next():
            raise StopIteration("No more results to get")
        if self._next_return_index >= self._next_task_index:
            raise ValueError("It is not allowed to call get_next() after get_next_unordered().")
        future = self._index_to_future[self._next_return_index]
        raise_timeout_after_ignore = False
        if timeout is not None:
            refs = _refs(future)
            ready, _ = rayx.wait(refs, num_returns=len(refs), timeout=timeout)
            if len(ready) < len(refs):
                if not ignore_if_timedout:
                    raise TimeoutError(_TIMEOUT_MESSAGE)
                raise_timeout_after_ignore = True
        del self._index_to_future[self._next_return_index]
        self._next_return_index += 1
        _, actor = self._future_to_actor.pop(_key(future))
        self._return_actor(actor)
        if raise_timeout_after_ignore:
            raise TimeoutError(f"{_TIMEOUT_MESSAGE}. The task {future} has been ignored.")
        return rayx.get(future)

    def get_next_unordered(
        self, timeout: Optional[float] = None, ignore_if_timedout: bool = False
    ) -> Any:
        """Returns whichever result is ready first, waiting up to timeout seconds.

        After this, `get_next` may no longer be used for results submitted before.

        Raises:
            StopIteration: no result is left to read.
            TimeoutError: no result was ready in time. With ignore_if_timedout the oldest
                unread result is dropped (its actor goes back to the pool).
            Exception: what the call raised (the pool stays usable).
        """
        if not self.has_next():
            raise StopIteration("No more results to get")
        by_ref = {}
        for key in self._future_to_actor:
            for ref in _refs(key):
                by_ref[ref] = key
        ready, _ = rayx.wait(list(by_ref), num_returns=1, timeout=timeout)
        raise_timeout_after_ignore = False
        if ready:
            key = by_ref[ready[0]]
        elif not ignore_if_timedout:
            raise TimeoutError(_TIMEOUT_MESSAGE)
        else:
            # Ray's own code has no future to drop here; the oldest unread one goes.
            raise_timeout_after_ignore = True
            key = min(self._future_to_actor, key=lambda k: self._future_to_actor[k][0])
        index, actor = self._future_to_actor.pop(key)
        future = self._index_to_future.pop(index)
        self._return_actor(actor)
        self._next_return_index = max(self._next_return_index, index + 1)
        if raise_timeout_after_ignore:
            raise TimeoutError(f"{_TIMEOUT_MESSAGE}. The task {future} has been ignored.")
        return rayx.get(future)

    def _return_actor(self, actor: Any) -> None:
        self._idle_actors.append(actor)
        if self._pending_submits:
            self.submit(*self._pending_submits.pop(0))

    def has_free(self) -> bool:
        """Returns True when an actor is idle and no submission waits for one."""
        return len(self._idle_actors) > 0 and len(self._pending_submits) == 0

    def pop_idle(self) -> Optional[Any]:
        """Takes an idle actor out of the pool and returns it; None when none is free."""
        if self.has_free():
            return self._idle_actors.pop()
        return None

    def push(self, actor: Any) -> None:
        """Adds an actor to the pool (it takes a waiting submission at once, if any).

        Raises:
            ValueError: the actor already belongs to the pool.
        """
        busy_actors = [a for _, a in self._future_to_actor.values()]
        if actor in self._idle_actors or actor in busy_actors:
            raise ValueError("Actor already belongs to current ActorPool")
        self._return_actor(actor)
