"""Metrics hooks put in at wiring time, so the store and the pool stay unaware of metrics.

`ObservedStore` times every public operation of any store (SQLite or PostgreSQL) by name and
marks the call that saved a model; `ObservedPool` marks the call that took a training worker.
From those marks the RPC observer tells how a training ended, even when its client cancelled
the call after receiving the saved version.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from gatelearn.server.observe.calls import current_call
from gatelearn.server.observe.metrics import ServerMetrics
from gatelearn.server.training.pool import Worker, WorkerPool

__all__ = ["ObservedPool", "ObservedStore"]

UNTIMED = frozenset({"close", "ping"})  # ping: the health monitor's, every second
SAVES = frozenset({"save", "save_packed"})


class ObservedStore:
    """A store whose public operations report their duration to `metrics`."""

    def __init__(self, store: Any, metrics: ServerMetrics) -> None:
        self._store = store
        self._metrics = metrics

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._store, name)
        if name.startswith("_") or name in UNTIMED or not callable(attribute):
            return attribute
        timed = self._timed(name, attribute)
        setattr(self, name, timed)  # found directly from now on
        return timed

    def _timed(self, operation: str, call: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                result = call(*args, **kwargs)
            finally:
                self._metrics.store_operation(operation, time.perf_counter() - started)
            if operation in SAVES and (current := current_call.get()) is not None:
                current.saved = True
            return result

        return timed


class ObservedPool(WorkerPool):
    """A worker pool that tells the call being answered when it got a worker."""

    def acquire(self) -> Worker | None:
        worker = super().acquire()
        if worker is not None and (call := current_call.get()) is not None:
            call.training = True
        return worker
