"""Generator tasks: `ObjectRefGenerator` (streaming) and `DynamicObjectRefGenerator`.

A remote function or actor method that is a generator function returns an `ObjectRefGenerator`
when called (``num_returns="streaming"``, the default for generator functions, as in Ray): an
iterator of ObjectRefs, one per yielded value, each available as soon as the task yields it.

How items travel: the task's one declared return (return 0, "the completion") ends the stream.
The worker puts item k as the task's return k + 1 the moment it is yielded; the node holds each
item for the completion object until a process takes a ref to it (then the item lives as long
as its refs), so items nobody took are freed with the generator, and a re-run of the task (a
retry after its worker died) yields the same ids, which the node keeps only once. When the task ends, the completion holds the number of items, or the task's error.
``next(gen)`` waits until item k exists or the completion is ready (the node waits on the
item's id even before it exists), so an error raised after k items comes, as in Ray, as the
(k+1)-th ref, whose get raises it; then StopIteration.

``num_returns="dynamic"``: the task's one return holds a `DynamicObjectRefGenerator` of the
refs of every item (Ray's deprecated dynamic generators).
"""

from __future__ import annotations

from typing import Any, Iterator, List, Optional

import _rayx

from rayx._private import serialization
from rayx._private.serialization import VALUE
from rayx.object_ref import ObjectRef

__all__ = ["ObjectRefGenerator", "DynamicObjectRefGenerator", "item_id"]

_TASK_ID_SIZE = 16


def item_id(completion_id: bytes, index: int) -> bytes:
    """The object id of item index (0-based) of the generator task whose return 0 this is."""
    # An ObjectID is its TaskID and a 4-byte big-endian return index (engine/base/ids.cc).
    return completion_id[:_TASK_ID_SIZE] + (index + 1).to_bytes(4, "big")


class ObjectRefGenerator:
    """The ObjectRefs of a generator task's items, in the order yielded (Ray's ObjectRefGenerator).

    ``next(gen)`` blocks until the next item is yielded (or the task ended); ``async for ref in
    gen`` waits without blocking the event loop. Not serializable: it cannot be passed to tasks.
    """

    def __init__(self, completion: ObjectRef):
        self._completion = completion
        self._completion_id = completion.binary()
        self._index = 0  # The next item to hand out.
        self._count: Optional[int] = None  # Items in all, once the task ended well.
        self._failed = False  # The task ended with an error, handed out as the next ref.
        self._done = False  # StopIteration from now on.

    def __iter__(self) -> "ObjectRefGenerator":
        return self

    def __next__(self) -> ObjectRef:
        ref = self._next(None)
        if ref is None:
            raise StopIteration
        return ref

    def __aiter__(self) -> "ObjectRefGenerator":
        return self

    async def __anext__(self) -> ObjectRef:
        if not self._done and not self._next_ready():
            import asyncio  # Here, not at import: asyncio costs every process 20 ms to load.

            loop = asyncio.get_running_loop()
            ref = await loop.run_in_executor(None, self._next, None)
        else:
            ref = self._next(None)
        if ref is None:
            raise StopAsyncIteration
        return ref

    def _next_sync(self, timeout_s: Optional[float] = None) -> Optional[ObjectRef]:
        """The next ref, waiting at most timeout_s seconds; None at the end or on timeout."""
        return self._next(timeout_s)

    def completed(self) -> ObjectRef:
        """The ref of the task's end: ready once the task finished; its get raises the task's
        error if it failed."""
        return self._completion

    def is_finished(self) -> bool:
        """True once every item was handed out (next() raises StopIteration)."""
        if not self._done and self._next_ready(0):
            self._settle_if_ended()
        return self._done or (
            self._count is not None and self._index >= self._count and not self._failed
        )

    def next_ready(self) -> bool:
        """True when next() returns without waiting."""
        return self._next_ready(0)

    def __reduce__(self) -> Any:
        raise TypeError("An ObjectRefGenerator cannot be serialized (it cannot be passed to tasks).")

    def __repr__(self) -> str:
        return f"ObjectRefGenerator({self._completion_id.hex()}, next={self._index})"

    # The ids rayx.wait waits on for this generator: its next item, and its end.
    def _wait_ids(self) -> List[bytes]:
        return [item_id(self._completion_id, self._index), self._completion_id]

    def _next_ready(self, timeout: Optional[float] = 0) -> bool:
        if self._done or self._count is not None or self._failed:
            return True
        ready = _rayx.wait(self._wait_ids(), 1, timeout, True, True)
        return ready[0] or ready[1]

    def _settle_if_ended(self) -> None:
        """Reads the completion when it is ready: the item count, or that the task failed."""
        if self._count is not None or self._failed:
            return
        if not _rayx.wait([self._completion_id], 1, 0, True)[0]:
            return
        kind, data, buffers = _rayx.get([self._completion_id], None)[0]
        if kind == VALUE:
            count = serialization.deserialize(kind, data, buffers, self._completion_id)
            self._count = count if isinstance(count, int) else 0
        else:
            self._failed = True

    def _next(self, timeout: Optional[float]) -> Optional[ObjectRef]:
        if self._done:
            return None
        if self._count is None and not self._failed:
            ids = self._wait_ids()
            item_ready, ended = _rayx.wait(ids, 1, timeout, True, True)
            if item_ready:
                self._index += 1
                return ObjectRef(ids[0])
            if not ended:
                return None  # Timed out.
            self._settle_if_ended()
        if self._count is not None and self._index < self._count:
            ref = ObjectRef(item_id(self._completion_id, self._index))
            self._index += 1
            return ref
        self._done = True
        if self._failed:
            return self._completion  # Its get raises the task's error, as Ray's does.
        return None


class DynamicObjectRefGenerator:
    """The refs of a ``num_returns="dynamic"`` task's items: the value of its one return."""

    def __init__(self, refs: List[ObjectRef]):
        self._refs = list(refs)

    def __iter__(self) -> Iterator[ObjectRef]:
        return iter(self._refs)

    def __len__(self) -> int:
        return len(self._refs)

    def __repr__(self) -> str:
        return f"DynamicObjectRefGenerator({len(self._refs)} refs)"
