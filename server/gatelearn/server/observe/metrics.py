"""Prometheus metrics of one server, in a registry of its own, served over plain HTTP.

`prometheus-client` is an optional extra (`gatelearn[metrics]`), imported only when a server is
given a metrics address. Each server has its own CollectorRegistry, so two servers in one
process (as in the tests) never share a count. RPC and store figures are recorded as calls
happen (rpc_observer, instrumented); the pool's and the cache's are read when scraped.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Any

import grpc

if TYPE_CHECKING:
    from gatelearn.server.models.cache import ModelCache
    from gatelearn.server.training.pool import WorkerPool

__all__ = ["ServerMetrics", "parse_metrics_address"]

LOOPBACK = "127.0.0.1"
# Seconds; Predict answers in well under a millisecond, a Train can take minutes.
RPC_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
)
STORE_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    5.0,
)
# How a training ended, by its call's status code (OK when a version was saved); any
# other code is "failed".
OUTCOMES = {
    grpc.StatusCode.OK: "saved",
    grpc.StatusCode.CANCELLED: "cancelled",
    grpc.StatusCode.DEADLINE_EXCEEDED: "deadline_exceeded",
}


def _prometheus(module: str = "prometheus_client") -> ModuleType:
    """Import (part of) prometheus_client, or say which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(
            "--metrics-address needs the prometheus-client package: "
            "pip install 'gatelearn[metrics]'"
        ) from None


def parse_metrics_address(text: str) -> tuple[str, int]:
    """(host, port) from `HOST:PORT`, `[IPV6]:PORT`, or a bare `PORT` (on loopback)."""
    host, _, port = text.rpartition(":")
    host = host.strip("[]") or LOOPBACK
    if not port.isdigit() or int(port) > 65535:
        raise ValueError(
            f"--metrics-address: {text!r} is not PORT or HOST:PORT (a port from 0 to 65535)"
        )
    return host, int(port)


# Figures read at each scrape: (metric type, name, help, how to read it).
_LIVE_FIGURES: tuple[tuple[str, str, str, Callable[[WorkerPool, ModelCache], float]], ...] = (
    (
        "Gauge",
        "gatelearn_trainings_running",
        "trainings running now (one worker process each)",
        lambda pool, cache: pool.busy,
    ),
    (
        "Counter",
        "gatelearn_worker_restarts",
        "training workers killed and replaced",
        lambda pool, cache: pool.restarts,
    ),
    (
        "Counter",
        "gatelearn_model_cache_hits",
        "model lookups answered from the cache",
        lambda pool, cache: cache.hits,
    ),
    (
        "Counter",
        "gatelearn_model_cache_misses",
        "model lookups that loaded from the store",
        lambda pool, cache: cache.misses,
    ),
    (
        "Gauge",
        "gatelearn_model_cache_bytes",
        "memory the cached models hold (arrays and metadata)",
        lambda pool, cache: cache.bytes,
    ),
    (
        "Gauge",
        "gatelearn_model_cache_models",
        "models in the cache",
        lambda pool, cache: len(cache),
    ),
)


class _LiveFigures:
    """A collector reading the pool's and the cache's own counts at each scrape."""

    def __init__(self, pool: WorkerPool, cache: ModelCache) -> None:
        self._pool = pool
        self._cache = cache
        self._families = _prometheus("prometheus_client.core")

    def collect(self) -> Iterator[Any]:
        for kind, name, description, read in _LIVE_FIGURES:
            family = getattr(self._families, f"{kind}MetricFamily")
            yield family(name, description, value=read(self._pool, self._cache))


class ServerMetrics:
    """The metrics of one server, registered in `registry`."""

    def __init__(self) -> None:
        prometheus = _prometheus()
        self.registry = prometheus.CollectorRegistry()
        self._rpcs = prometheus.Counter(
            "gatelearn_rpc",
            "RPCs answered, by method and status code",
            ["method", "code"],
            registry=self.registry,
        )
        self._rpc_seconds = prometheus.Histogram(
            "gatelearn_rpc_seconds",
            "time from a call's start to its status, by method",
            ["method"],
            buckets=RPC_BUCKETS,
            registry=self.registry,
        )
        self._trainings = prometheus.Counter(
            "gatelearn_trainings",
            "trainings that had a worker, by how they ended "
            "(saved, cancelled, deadline_exceeded, failed)",
            ["outcome"],
            registry=self.registry,
        )
        self._store_seconds = prometheus.Histogram(
            "gatelearn_store_seconds",
            "time of a model store operation, by operation",
            ["operation"],
            buckets=STORE_BUCKETS,
            registry=self.registry,
        )
        # Each (method, code)'s counter and histogram, looked up once: `labels` took about 3 us
        # a call. Methods are the server's own (or "unknown"), so the keys are few.
        self._rpc_children: dict[tuple[str, grpc.StatusCode], tuple[Any, Any]] = {}

    def watch(self, pool: WorkerPool, cache: ModelCache) -> None:
        """Report the pool's and the cache's figures at each scrape."""
        self.registry.register(_LiveFigures(pool, cache))

    def rpc_ended(self, method: str, code: grpc.StatusCode, seconds: float) -> None:
        children = self._rpc_children.get((method, code))
        if children is None:
            children = self._rpcs.labels(method, code.name), self._rpc_seconds.labels(method)
            self._rpc_children[(method, code)] = children
        calls, durations = children
        calls.inc()
        durations.observe(seconds)

    def training_ended(self, code: grpc.StatusCode) -> None:
        self._trainings.labels(OUTCOMES.get(code, "failed")).inc()

    def store_operation(self, operation: str, seconds: float) -> None:
        self._store_seconds.labels(operation).observe(seconds)

    def exposition(self) -> Any:
        """The WSGI app answering a scrape with this server's figures as Prometheus text."""
        return _prometheus().make_wsgi_app(self.registry)
