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

__all__ = ["Ended", "ahead", "feed"]

T = TypeVar("T")


class Ended:
    """The end of a stream of items: how its iterator ended (None: it ran out)."""

    def __init__(self, error: BaseException | None) -> None:
        self.error = error


def feed(items: Iterator[T], put: Callable[[T], bool], finish: Callable[[Ended], object]) -> None:
    """Hand each of `items` to `put` until it refuses one (its taker is gone), then `finish`
    with how the items ended. The iterator is closed either way, in this thread, so its
    `finally` blocks run here."""
    try:
        for item in items:
            if not put(item):
                break
    except BaseException as error:  # noqa: BLE001 - handed to the taker, raised there
        finish(Ended(error))
        return
    finally:
        if (close := getattr(items, "close", None)) is not None:
            close()
    finish(Ended(None))


class _Buffer(Generic[T]):
    """Items between the thread making them and the one taking them, at most `depth` waiting,
    plus the final Ended. Closed when the call ends or the taker is gone: both then stop."""

    def __init__(self, depth: int) -> None:
        self._depth = depth
        self._items: deque[T | Ended] = deque()
        self._closed = False
        self._changed = threading.Condition()

    def put(self, item: T | Ended) -> bool:
        """Wait for room, then add `item`; False (and not added) once the taker is gone."""
        with self._changed:
            self._changed.wait_for(lambda: len(self._items) < self._depth or self._closed)
            if self._closed:
                return False
            self._items.append(item)
            self._changed.notify_all()
            return True

    def finish(self, done: Ended) -> None:
        """Add the end, beyond `depth` (it holds no answer), unless the taker is gone."""
        with self._changed:
            if not self._closed:
                self._items.append(done)
                self._changed.notify_all()

    def take(self) -> T | Ended:
        """The next item; the end once the call has ended (its answers can no longer go)."""
        with self._changed:
            self._changed.wait_for(lambda: bool(self._items) or self._closed)
            if self._closed:
                return Ended(None)
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

    on_end(buffer.close)
    # The call's context (its request id for log lines) goes with its work.
    threading.Thread(
        target=contextvars.copy_context().run,
        args=(feed, items, buffer.put, buffer.finish),
        name="stream-ahead",
        daemon=True,
    ).start()
    try:
        while not isinstance(item := buffer.take(), Ended):
            yield item
        if item.error is not None:
            raise item.error
    finally:
        buffer.close()
