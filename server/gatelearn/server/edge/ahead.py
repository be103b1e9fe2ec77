"""Taking an iterator's items ahead of their use, in a thread of its own.

A PredictStream's thread reads each request from the event loop (bridges.py), decodes it and
only then computes its answer, one thing at a time. `ahead` takes the items of an iterator
(each read and decoded there) in another thread while the caller works on the ones before: at
most `depth` items wait, so memory stays bounded. The
items come out in order; an error comes out where it happened, after the items before it, and
nothing after it is read.
"""

from __future__ import annotations

import contextvars
import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

__all__ = ["ahead"]

T = TypeVar("T")


class _Done:
    """The end of the items: how the iterator ended (None: it ran out)."""

    def __init__(self, error: BaseException | None) -> None:
        self.error = error


class _Buffer(Generic[T]):
    """Items between the thread making them and the one taking them, at most `depth` waiting,
    plus the final _Done. Closed when the call ends or the taker is gone: both then stop."""

    def __init__(self, depth: int) -> None:
        self._depth = depth
        self._items: deque[T | _Done] = deque()
        self._closed = False
        self._changed = threading.Condition()

    def put(self, item: T | _Done) -> bool:
        """Wait for room, then add `item`; False (and not added) once the taker is gone."""
        with self._changed:
            self._changed.wait_for(lambda: len(self._items) < self._depth or self._closed)
            if self._closed:
                return False
            self._items.append(item)
            self._changed.notify_all()
            return True

    def finish(self, done: _Done) -> None:
        """Add the end, beyond `depth` (it holds no answer), unless the taker is gone."""
        with self._changed:
            if not self._closed:
                self._items.append(done)
                self._changed.notify_all()

    def take(self) -> T | _Done:
        """The next item; the end once the call has ended (its answers can no longer go)."""
        with self._changed:
            self._changed.wait_for(lambda: bool(self._items) or self._closed)
            if self._closed:
                return _Done(None)
            item = self._items.popleft()
            self._changed.notify_all()
            return item

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._items.clear()
            self._changed.notify_all()


def ahead(
    items: Iterator[T], depth: int, on_end: Callable[[Callable[[], None]], object]
) -> Iterator[T]:
    """The items of `items`, made in a thread of its own up to `depth` ahead of the caller.
    `on_end` registers a function to run when the call ends (grpc's `context.add_callback`),
    so a call ended by its client, or by the server stopping, stops the thread too."""
    buffer: _Buffer[T] = _Buffer(depth)

    def make() -> None:
        try:
            for item in items:
                if not buffer.put(item):
                    return
        except BaseException as error:  # noqa: BLE001 - handed to the caller, raised there
            buffer.finish(_Done(error))
        else:
            buffer.finish(_Done(None))

    on_end(buffer.close)
    # The call's context (its request id for log lines) goes with its work.
    threading.Thread(
        target=contextvars.copy_context().run, args=(make,), name="stream-ahead", daemon=True
    ).start()
    try:
        while not isinstance(item := buffer.take(), _Done):
            yield item
        if item.error is not None:
            raise item.error
    finally:
        buffer.close()
