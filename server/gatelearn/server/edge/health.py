"""The standard health service, with a Watch that holds neither a thread nor a lock.

Every client connection keeps a Watch open (client-side health checking). grpc_health's Watch
either holds a server thread for the stream's life (a generator: more connected processes than
threads left no thread for calls) or, in its non-blocking form, sends while holding its lock:
a send waits for gRPC's poll thread, the poll thread takes that lock to close another Watch,
and the server stops answering anything (seen in the replica benchmark). Here a Watch is a
callback kept in a registry: the registry's lock is never held while sending, and each watcher
sends under a lock of its own, always the latest status, so the last message a client gets is
never stale.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2

__all__ = ["MAX_SERVICE_NAME", "HealthService"]

Send = Callable[[Any], None]  # grpc's send_response_callback: a response, or None to end
# Characters in a watched service name. An open Watch keeps its name, and health calls need no
# token: 50 Watches naming 10 MB services took the server from 97 to 580 MB.
MAX_SERVICE_NAME = 256


class _Watcher:
    """One Watch stream: its sends, one at a time."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._lock = threading.Lock()

    def send(self, current: Callable[[], Any]) -> None:
        """Send the status `current()` reads, read under this watcher's lock: of two sends
        racing, the later one carries the later status."""
        with self._lock:
            self._send(health_pb2.HealthCheckResponse(status=current()))

    def end(self) -> None:
        self._send(None)  # the final status: gRPC sends it without waiting


class HealthService(health.HealthServicer):
    """grpc_health's servicer (Check, set, graceful shutdown) with the Watch above."""

    def __init__(self) -> None:
        super().__init__(experimental_non_blocking=True)
        self._watchers: dict[str, set[_Watcher]] = {}
        self._watchers_lock = threading.Lock()  # never held while sending

    def Watch(  # noqa: N802 - gRPC's method name
        self,
        request: health_pb2.HealthCheckRequest,
        context: grpc.ServicerContext,
        send_response_callback: Send | None = None,
    ) -> None:
        if send_response_callback is None:
            raise RuntimeError("the health Watch needs grpc's non-blocking streaming")
        if len(request.service) > MAX_SERVICE_NAME:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"service: at most {MAX_SERVICE_NAME} characters, got {len(request.service)}",
            )
        service, watcher = request.service, _Watcher(send_response_callback)
        with self._watchers_lock:
            self._watchers.setdefault(service, set()).add(watcher)
        # The callback runs on gRPC's poll thread; it is refused when the call ended already.
        if not context.add_callback(lambda: self._closed(service, watcher)):
            self._closed(service, watcher)
            return
        watcher.send(lambda: self._status(service))

    def set(self, service: str, status: Any) -> None:
        """grpc_health's `set` (its graceful shutdown calls it for each service), then the
        new status to this service's watchers. Once the graceful shutdown has begun, statuses
        stay NOT_SERVING and nothing is sent: the calls may be gone with the server."""
        with self._lock:  # grpc_health's: its flag is set under it
            super().set(service, status)
            shutting_down = self._gracefully_shutting_down
        if not shutting_down:
            self._notify(service)

    def _status(self, service: str) -> Any:
        with self._lock:  # grpc_health's, held only for the lookup
            return self._server_status.get(service, health_pb2.HealthCheckResponse.SERVICE_UNKNOWN)

    def _notify(self, service: str) -> None:
        with self._watchers_lock:
            watchers = list(self._watchers.get(service, ()))
        for watcher in watchers:
            watcher.send(lambda: self._status(service))

    def _closed(self, service: str, watcher: _Watcher) -> None:
        with self._watchers_lock:
            watching = self._watchers.get(service, set())
            watching.discard(watcher)
            if not watching:
                self._watchers.pop(service, None)
        watcher.end()
