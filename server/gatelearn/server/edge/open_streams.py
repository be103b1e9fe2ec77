"""A bound on request streams open at once (PredictStream, reflection's ServerReflectionInfo).

The server runs synchronous work in a fixed pool of threads, and a stream of requests holds one
for as long as its client keeps it open, idle or not: without a bound, 16 idle PredictStreams
left no thread for any other call, and every call from every client waited until its deadline.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import grpc

from gatelearn.server.edge.sync_context import Aborted

__all__ = ["OpenStreams"]


class OpenStreams:
    """At most `limit` request streams at once; one more is refused RESOURCE_EXHAUSTED."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._free = threading.BoundedSemaphore(limit)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """One slot for the block (the stream's life), or Aborted: RESOURCE_EXHAUSTED."""
        if not self._free.acquire(blocking=False):
            raise Aborted(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"{self.limit} request streams are open already (limit max_open_streams); "
                "try again when one has ended",
            )
        try:
            yield
        finally:
            self._free.release()
