"""The event loop the server answers calls on, in a thread of its own, driven from sync code.

grpc.aio serves on an asyncio loop; `create_server`, `RunningServer.stop` and `serve` keep their
synchronous form by running the loop in this thread and handing it coroutines to run.
"""

from __future__ import annotations

import asyncio
import threading
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
        """Stop the loop and wait at most `timeout` seconds for its thread to end."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self.loop.close()
