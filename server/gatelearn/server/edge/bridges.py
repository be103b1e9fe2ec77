"""Synchronous servicer code run from grpc.aio's event loop, in a pool thread.

`in_thread` runs one call's work there; `thread_answers` runs a response stream's generator
there, handing each answer to the loop, at most one waiting, so a slow client holds back the
thread rather than filling memory; `thread_requests` gives that thread the call's request
stream, read on the loop one message at a time. Work and streams see the call's context
variables (its request id, its record in the call observer). When the call ends the thread's
waits end too: a hand-off refuses further answers, a pending read ends the request stream; and
a stream ends only once its thread has, so what the thread held (a training's worker, one of the
open streams) is free by the time the call counts as ended.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from concurrent.futures import Executor
from typing import Generic, TypeVar, cast

from gatelearn.server.edge.ahead import Ended, feed
from gatelearn.server.edge.sync_context import SyncContext

__all__ = ["in_thread", "thread_answers", "thread_requests"]

T = TypeVar("T")


def _started(pool: Executor, work: Callable[[], T]) -> asyncio.Future[T]:
    """`work()` begun in a thread of `pool`, with the call's context variables."""
    loop = asyncio.get_running_loop()
    return loop.run_in_executor(pool, contextvars.copy_context().run, work)


async def in_thread(pool: Executor, work: Callable[[], T]) -> T:
    """`work()` in a thread of `pool`, with the call's context variables."""
    return await _started(pool, work)


class _HandOff(Generic[T]):
    """Answers from a pool thread to the loop, at most `depth` waiting, then the Ended."""

    def __init__(self, loop: asyncio.AbstractEventLoop, depth: int) -> None:
        self._loop = loop
        self._items: deque[T | Ended] = deque()
        self._room = threading.Semaphore(depth)
        self._ready = asyncio.Event()
        self._closed = False

    def put(self, item: T) -> bool:
        """(Thread) wait for room, then hand `item` over; False once the loop side is gone."""
        self._room.acquire()
        if self._closed:
            return False
        self._items.append(item)
        return self._wake()

    def finish(self, end: Ended) -> None:
        """(Thread) hand over the end, beyond `depth`: it holds no answer."""
        self._items.append(end)
        self._wake()

    def _wake(self) -> bool:
        try:
            self._loop.call_soon_threadsafe(self._ready.set)
        except RuntimeError:  # the loop is closed: the server has stopped
            return False
        return True

    async def take(self) -> T | Ended:
        """(Loop) the next item, once there is one."""
        while not self._items:
            self._ready.clear()  # a wake-up for this item is still to come, or came already
            await self._ready.wait()
        item = self._items.popleft()
        if not isinstance(item, Ended):
            self._room.release()
        return item

    def close(self) -> None:
        """(Loop) no more answers are taken: a thread waiting for room goes on, and stops."""
        self._closed = True
        self._room.release()


async def thread_answers(
    pool: Executor, answers: Callable[[], Iterator[T]], stop: Callable[[], None]
) -> AsyncGenerator[T, None]:
    """The items of `answers()`, made in a thread of `pool`; an error raised there is raised
    here after the items before it. When the caller stops taking (the call ended), `stop()`
    ends the thread's other waits, the thread stops at its next item and closes the generator,
    so its `finally` blocks run, and this ends once they have."""
    hand_off: _HandOff[T] = _HandOff(asyncio.get_running_loop(), 1)
    thread = _started(pool, lambda: feed(answers(), hand_off.put, hand_off.finish))
    item: T | Ended | None = None
    try:
        while not isinstance(item := await hand_off.take(), Ended):
            yield item
        if item.error is not None:
            raise item.error
    finally:
        hand_off.close()
        if not isinstance(item, Ended):  # stopped early: the generator is still to be closed
            stop()
            await thread


_NO_MORE = object()


async def _next_of(requests: AsyncIterator[bytes]) -> object:
    try:
        return await requests.__anext__()
    except StopAsyncIteration:
        return _NO_MORE


class thread_requests:  # lower case: it reads as a function, `thread_requests(...)`
    """The call's request stream as a synchronous iterator for a pool thread; it ends when
    the requests do or the call does (`context` ended)."""

    def __init__(
        self,
        requests: AsyncIterator[bytes],
        loop: asyncio.AbstractEventLoop,
        context: SyncContext,
    ) -> None:
        self._requests = requests
        self._loop = loop
        self._context = context
        self._pending: concurrent.futures.Future[object] | None = None
        context.add_callback(self._cancel)

    def _cancel(self) -> None:
        if (pending := self._pending) is not None:
            pending.cancel()

    def __iter__(self) -> Iterator[bytes]:
        while self._context.is_active():
            pending = asyncio.run_coroutine_threadsafe(_next_of(self._requests), self._loop)
            self._pending = pending
            if not self._context.is_active():  # ended before _cancel could see `pending`
                pending.cancel()
            try:
                item = pending.result()
            except concurrent.futures.CancelledError:
                return
            if item is _NO_MORE:
                return
            yield cast(bytes, item)
