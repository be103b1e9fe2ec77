"""Keeping the gRPC health status in step with the store: NOT_SERVING while it cannot be reached.

Load balancers route by health, so a replica whose database is away should say so. A thread
pings the store every second, and at once when a call has just found it unreachable; the
statuses flip only when the answer changes. Each ping runs on a thread of its own and counts as
unreachable once PING_DEADLINE passes: a database that stops answering without closing its
connections (paused, or behind a network dropping packets) held a ping, and with it the monitor
and a SERVING status, for as long as it lasted. After `enter_graceful_shutdown` gRPC's health
servicer ignores every change, so a ping answered during shutdown cannot report SERVING again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

from grpc_health.v1 import health, health_pb2

from gatelearn.server.stores.base import Store
from gatelearn.server.stores.errors import StoreTransientError, StoreUnavailableError

__all__ = ["PING_DEADLINE", "PING_INTERVAL", "StoreHealth"]

PING_INTERVAL = 1.0  # seconds between pings of the store
PING_DEADLINE = 2.0  # seconds a ping may take before the store counts as unreachable
STOP_CHECK = 0.1  # seconds between looks at `stop` while a ping is awaited

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
        pinger = _Pinger(store)
        while not self._stopping.is_set():
            self._wake.wait(PING_INTERVAL)
            self._wake.clear()
            if self._stopping.is_set():
                return
            error = pinger.ping(self._stopping)
            if self._stopping.is_set():
                return
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


class _Pinger:
    """`store.ping` on a daemon thread, waited for at most PING_DEADLINE. A ping still running
    when the next is due is waited for again rather than joined by another, so a store that
    never answers holds one thread, not one a second."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._done = threading.Event()
        self._done.set()
        self._error: StoreTransientError | None = None

    def ping(self, stopping: threading.Event) -> StoreTransientError | None:
        """None when the store answered in time, else why not; returns early once `stopping`
        is set, so a stuck ping does not hold up the server's shutdown."""
        if self._done.is_set():
            self._done.clear()
            threading.Thread(target=self._run, name="gatelearn-store-ping", daemon=True).start()
        deadline = time.monotonic() + PING_DEADLINE
        while not self._done.wait(STOP_CHECK):
            if stopping.is_set():
                return None
            if time.monotonic() >= deadline:
                return StoreUnavailableError(
                    f"the model store did not answer a ping within {PING_DEADLINE:g} s"
                )
        return self._error

    def _run(self) -> None:
        self._error = _ping(self._store)
        self._done.set()


def _ping(store: Store) -> StoreTransientError | None:
    """None when the store answers (a store whose connections are all busy answers), else why
    not."""
    try:
        store.ping()
    except StoreTransientError as error:
        return error
    return None
