"""The standard health service, with a Watch that waits on the event loop, holding no thread.

Every client connection keeps a Watch open (client-side health checking), so a Watch must cost
no thread: here each is an async generator on grpc.aio's loop that sends the service's current
status, then waits until a status is set. Statuses are set from any thread (the store-health
monitor, the shutdown); the watchers are woken on the loop, and each sends the status as it is
when it runs, so the last message a client gets is never stale.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2

__all__ = ["MAX_SERVICE_NAME", "HealthService"]

# Characters in a watched service name. An open Watch keeps its name, and health calls need no
# token: 50 Watches naming 10 MB services took the server from 97 to 580 MB.
MAX_SERVICE_NAME = 256


class HealthService(health.HealthServicer):
    """grpc_health's servicer (its statuses, set, graceful shutdown) with the Check and Watch
    of a grpc.aio server whose loop is `loop`."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._loop = loop
        # By service, each open Watch's wake-up; only the loop's thread changes it.
        self._watchers: dict[str, set[asyncio.Event]] = {}

    def Check(  # noqa: N802 - gRPC's method name
        self, request: health_pb2.HealthCheckRequest, context: Any
    ) -> health_pb2.HealthCheckResponse:
        with self._lock:  # grpc_health's
            status = self._server_status.get(request.service)
        if status is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"unknown service {request.service!r}")
        return health_pb2.HealthCheckResponse(status=status)

    async def Watch(  # noqa: N802 - gRPC's method name
        self, request: health_pb2.HealthCheckRequest, context: Any
    ) -> AsyncIterator[health_pb2.HealthCheckResponse]:
        if len(request.service) > MAX_SERVICE_NAME:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"service: at most {MAX_SERVICE_NAME} characters, got {len(request.service)}",
            )
        service, changed = request.service, asyncio.Event()
        self._watchers.setdefault(service, set()).add(changed)
        try:
            while True:
                changed.clear()
                yield health_pb2.HealthCheckResponse(status=self._status(service))
                await changed.wait()
        finally:  # the call ended: its client left, or the server stopped
            watching = self._watchers.get(service, set())
            watching.discard(changed)
            if not watching:
                self._watchers.pop(service, None)

    def set(self, service: str, status: Any) -> None:
        """grpc_health's `set` (its graceful shutdown calls it for each service), then the
        service's watchers woken. Once the graceful shutdown has begun, statuses stay
        NOT_SERVING and nothing is sent: the calls may be gone with the server."""
        with self._lock:  # grpc_health's: its flag is set under it
            super().set(service, status)
            shutting_down = self._gracefully_shutting_down
        if not shutting_down:
            with contextlib.suppress(RuntimeError):  # the loop is closed: the server stopped
                self._loop.call_soon_threadsafe(self._notify, service)

    def _status(self, service: str) -> Any:
        with self._lock:  # grpc_health's, held only for the lookup
            return self._server_status.get(service, health_pb2.HealthCheckResponse.SERVICE_UNKNOWN)

    def _notify(self, service: str) -> None:
        for changed in self._watchers.get(service, ()):
            changed.set()
