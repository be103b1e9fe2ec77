"""The event loop the server answers calls on, in a thread of its own, driven from sync code.

grpc.aio serves on an asyncio loop; `create_server`, `RunningServer.stop` and `serve` keep their
synchronous form by running the loop in this thread and handing it coroutines to run.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["LoopThread"]

T = TypeVar("T")


class LoopThread:
    """An asyncio loop running in a daemon thread until `close`."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="grpc-loop", daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run `coroutine` on the loop and return its result (TimeoutError after `timeout`)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def call(self, function: Callable[[], T]) -> T:
        """`function()` run on the loop's thread (grpc.aio's server is made and set up there)."""

        async def called() -> T:
            return function()

        return self.run(called())

    def close(self, timeout: float) -> None:
        """Cancel the tasks still running on the loop (a call's end waiting for its thread),
        stop the loop, and wait at most `timeout` seconds in all for its thread to end."""
        deadline = time.monotonic() + timeout
        with contextlib.suppress(TimeoutError):  # a loop still busy is left to its thread
            self.run(_cancel_tasks(timeout / 2), timeout)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(max(0.0, deadline - time.monotonic()))
        if not self._thread.is_alive():
            self.loop.close()


async def _cancel_tasks(wait: float) -> None:
    """Cancel every other task of the running loop and give them `wait` seconds to end: a task
    left pending when the loop closes is destroyed mid-await, and its GeneratorExit logged."""
    tasks = asyncio.all_tasks() - {asyncio.current_task()}
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=wait)
