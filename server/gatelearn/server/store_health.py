"""Keeping the gRPC health status in step with the store: NOT_SERVING while it cannot be reached.

Load balancers route by health, so a replica whose database is away should say so. A thread
pings the store every second, and at once when a call has just found it unreachable; the
statuses flip only when the answer changes. After `enter_graceful_shutdown` gRPC's health
servicer ignores every change, so a ping answered during shutdown cannot report SERVING again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from grpc_health.v1 import health, health_pb2

from gatelearn.server.stores.base import Store
from gatelearn.server.stores.errors import StoreTransientError

__all__ = ["PING_INTERVAL", "StoreHealth"]

PING_INTERVAL = 1.0  # seconds between pings of the store

log = logging.getLogger("gatelearn.server")


class StoreHealth:
    """A monitor thread that sets `services` SERVING or NOT_SERVING as the store answers."""

    def __init__(self, health_servicer: health.HealthServicer, services: Iterable[str]) -> None:
        self._health = health_servicer
        self._services = tuple(services)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def unavailable_seen(self) -> None:
        """A call found the store unreachable: ping now rather than at the next tick."""
        self._wake.set()

    def start(self, store: Store) -> None:
        """Start pinging `store`; the services are taken to be SERVING now."""
        self._thread = threading.Thread(
            target=self._run, args=(store,), name="gatelearn-store-health", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (before the store closes, so no ping meets a closed store)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self, store: Store) -> None:
        reachable = True
        while not self._stopping.is_set():
            self._wake.wait(PING_INTERVAL)
            self._wake.clear()
            if self._stopping.is_set():
                return
            error = _ping(store)
            if (error is None) != reachable:
                reachable = error is None
                self._announce(reachable, error)

    def _announce(self, reachable: bool, error: StoreTransientError | None) -> None:
        if reachable:
            log.warning("the model store answers again: health SERVING")
        else:
            log.warning("health NOT_SERVING: %s", error)
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if reachable
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for service in self._services:
            self._health.set(service, status)


def _ping(store: Store) -> StoreTransientError | None:
    """None when the store answers (a store whose connections are all busy answers), else why
    not."""
    try:
        store.ping()
    except StoreTransientError as error:
        return error
    return None
