"""`ray.util.queue.Queue`: a first-in first-out queue held by an actor, shared across processes.

As in Ray, the queue lives in an async actor (an ``asyncio.Queue`` inside it); a `Queue` object
is a thin client that can be passed to tasks and actors, and every copy names the same queue.
`Empty` and `Full` subclass Python's ``queue.Empty`` and ``queue.Full``.
"""

from __future__ import annotations

import asyncio
import queue
from collections.abc import Iterable
from typing import Any, Optional

import rayx

__all__ = ["Empty", "Full", "Queue"]


class Empty(queue.Empty):
    """Raised by a get from an empty queue (non-blocking, or after its timeout)."""


class Full(queue.Full):
    """Raised by a put into a full queue (non-blocking, or after its timeout)."""


# What the actor answers: (_OK, value) or (_EMPTY | _FULL, message).
_OK, _EMPTY, _FULL = 0, 1, 2


def _unwrap(answer: tuple) -> Any:
    status, value = answer
    if status == _EMPTY:
        raise Empty(value) if value else Empty
    if status == _FULL:
        raise Full(value) if value else Full
    return value


def _check_timeout(timeout: Optional[float]) -> None:
    if timeout is not None and timeout < 0:
        raise ValueError("'timeout' must be a non-negative number")


class Queue:
    """A FIFO queue held by an actor; ``maxsize <= 0`` means unbounded.

    Example::

        q = Queue(maxsize=10)
        q.put(1)                 # also from tasks and actors that were given q
        q.get(timeout=1.0)       # 1

    Args:
        maxsize: the most items the queue holds; puts beyond it block (or raise Full).
        hidden: accepted for Ray compatibility (Ray hides the actor from its dashboard).
        actor_options: options for the queue's actor (as given to ``.options(...)``).
    """

    def __init__(
        self, maxsize: int = 0, hidden: bool = False, actor_options: Optional[dict] = None
    ) -> None:
        self.maxsize = maxsize
        self.actor = _queue_actor_class().options(**(actor_options or {})).remote(maxsize)

    def __len__(self) -> int:
        return self.size()

    def size(self) -> int:
        """Returns the number of items in the queue now."""
        return rayx.get(self.actor.qsize.remote())

    def qsize(self) -> int:
        """Returns the number of items in the queue now (the same as `size`)."""
        return self.size()

    def empty(self) -> bool:
        """Returns True when the queue holds no item now."""
        return rayx.get(self.actor.empty.remote())

    def full(self) -> bool:
        """Returns True when the queue holds maxsize items now (never for an unbounded one)."""
        return rayx.get(self.actor.full.remote())

    def put(self, item: Any, block: bool = True, timeout: Optional[float] = None) -> None:
        """Adds item at the end of the queue.

        With block (the default), waits for room, at most timeout seconds (None: for ever).

        Raises:
            Full: no room (block=False), or none within timeout.
            ValueError: timeout is negative.
        """
        if not block:
            _unwrap(rayx.get(self.actor.put_nowait.remote(item)))
            return
        _check_timeout(timeout)
        _unwrap(rayx.get(self.actor.put.remote(item, timeout)))

    async def put_async(self, item: Any, block: bool = True, timeout: Optional[float] = None) -> None:
        """`put` for asyncio code: awaits instead of blocking the thread."""
        if not block:
            _unwrap(await self.actor.put_nowait.remote(item))
            return
        _check_timeout(timeout)
        _unwrap(await self.actor.put.remote(item, timeout))

    def get(self, block: bool = True, timeout: Optional[float] = None) -> Any:
        """Removes and returns the item at the front of the queue.

        With block (the default), waits for an item, at most timeout seconds (None: for ever).

        Raises:
            Empty: no item (block=False), or none within timeout.
            ValueError: timeout is negative.
        """
        if not block:
            return _unwrap(rayx.get(self.actor.get_nowait.remote()))
        _check_timeout(timeout)
        return _unwrap(rayx.get(self.actor.get.remote(timeout)))

    async def get_async(self, block: bool = True, timeout: Optional[float] = None) -> Any:
        """`get` for asyncio code: awaits instead of blocking the thread."""
        if not block:
            return _unwrap(await self.actor.get_nowait.remote())
        _check_timeout(timeout)
        return _unwrap(await self.actor.get.remote(timeout))

    def put_nowait(self, item: Any) -> None:
        """``put(item, block=False)``: raises Full at once when there is no room."""
        self.put(item, block=False)

    def put_nowait_batch(self, items: Iterable) -> None:
        """Adds all items at once, or none of them.

        Raises:
            Full: the items do not all fit (nothing is added).
            TypeError: items is not iterable.
        """
        if not isinstance(items, Iterable):
            raise TypeError("Argument 'items' must be an Iterable")
        _unwrap(rayx.get(self.actor.put_nowait_batch.remote(list(items))))

    def get_nowait(self) -> Any:
        """``get(block=False)``: raises Empty at once when there is no item."""
        return self.get(block=False)

    def get_nowait_batch(self, num_items: int) -> list:
        """Removes and returns num_items items at once, or none.

        Raises:
            Empty: fewer than num_items items are in the queue (nothing is removed).
            TypeError: num_items is not an int.
            ValueError: num_items is negative.
        """
        if not isinstance(num_items, int):
            raise TypeError("Argument 'num_items' must be an int")
        if num_items < 0:
            raise ValueError("'num_items' must be nonnegative")
        return _unwrap(rayx.get(self.actor.get_nowait_batch.remote(num_items)))

    def shutdown(self, force: bool = False, grace_period_s: int = 5) -> None:
        """Ends the queue's actor; the items in it are lost and the queue is unusable after.

        Without force, calls already sent to the queue are served first (for up to
        grace_period_s seconds); with force the actor is killed at once.
        """
        if self.actor is not None:
            if not force:
                rayx.wait([self.actor.qsize.remote()], timeout=grace_period_s)
            rayx.kill(self.actor, no_restart=True)
        self.actor = None


class _QueueActor:
    """The actor holding a queue's items (an async actor: blocked gets and puts wait there)."""

    def __init__(self, maxsize: int):
        self.maxsize = maxsize
        self.queue: asyncio.Queue = asyncio.Queue(maxsize)

    def qsize(self) -> int:
        return self.queue.qsize()

    def empty(self) -> bool:
        return self.queue.empty()

    def full(self) -> bool:
        return self.queue.full()

    async def put(self, item: Any, timeout: Optional[float] = None) -> tuple:
        try:
            await asyncio.wait_for(self.queue.put(item), timeout)
        except asyncio.TimeoutError:
            return _FULL, ""
        return _OK, None

    async def get(self, timeout: Optional[float] = None) -> tuple:
        try:
            return _OK, await asyncio.wait_for(self.queue.get(), timeout)
        except asyncio.TimeoutError:
            return _EMPTY, ""

    def put_nowait(self, item: Any) -> tuple:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            return _FULL, ""
        return _OK, None

    def put_nowait_batch(self, items: list) -> tuple:
        # maxsize <= 0: unbounded, everything fits.
        if self.maxsize > 0 and len(items) + self.qsize() > self.maxsize:
            return _FULL, (
                f"Cannot add {len(items)} items to queue of size {self.qsize()} "
                f"and maxsize {self.maxsize}."
            )
        for item in items:
            self.queue.put_nowait(item)
        return _OK, None

    def get_nowait(self) -> tuple:
        try:
            return _OK, self.queue.get_nowait()
        except asyncio.QueueEmpty:
            return _EMPTY, ""

    def get_nowait_batch(self, num_items: int) -> tuple:
        if num_items > self.qsize():
            return _EMPTY, f"Cannot get {num_items} items from queue of size {self.qsize()}."
        return _OK, [self.queue.get_nowait() for _ in range(num_items)]


_actor_class: Optional[Any] = None


def _queue_actor_class() -> Any:
    global _actor_class
    if _actor_class is None:
        _actor_class = rayx.remote(_QueueActor)
    return _actor_class
