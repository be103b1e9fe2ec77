"""Building and running the server: GateLearn beside the standard health and reflection services.

`create_server` builds a started server and returns it with its bound port (bind port 0 in
tests); `serve` runs one until SIGTERM or Ctrl-C and shuts it down cleanly. The server is
grpc.aio's, on an event loop in a thread of its own (edge/loop.py); both keep a synchronous form.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2

from gatelearn.api.constants import DEFAULT_ADDRESS
from gatelearn.plugins import (
    DEFAULT_PLUGINS,
    Entry,
    Registry,
    build_registry,
    create_manager,
)
from gatelearn.server.allocator import keep_freed_memory
from gatelearn.server.collection import freeze_start_up
from gatelearn.server.edge.behaviours import Calls
from gatelearn.server.edge.decoding import add_decoding_servicer
from gatelearn.server.edge.health import HealthService
from gatelearn.server.edge.loop import LoopThread
from gatelearn.server.edge.nesting import MAX_LISTED
from gatelearn.server.edge.open_streams import OpenStreams
from gatelearn.server.edge.reflection import add_reflection
from gatelearn.server.edge.servicer import GateLearnService
from gatelearn.server.limits import Limits
from gatelearn.server.models.cache import ModelCache
from gatelearn.server.models.service import ModelService
from gatelearn.server.observe.calls import RpcObserver
from gatelearn.server.observe.endpoint import MetricsEndpoint, start_endpoint
from gatelearn.server.observe.instrumented import ObservedPool, ObservedStore
from gatelearn.server.observe.logs import demote_peer_caused
from gatelearn.server.observe.metrics import ServerMetrics, parse_metrics_address
from gatelearn.server.paths import default_data_dir
from gatelearn.server.ports import check_free
from gatelearn.server.priority import serve_in_real_time
from gatelearn.server.security import TokenInterceptor, is_loopback, server_credentials
from gatelearn.server.store_health import StoreHealth
from gatelearn.server.stores import Store
from gatelearn.server.stores.location import open_store, redacted
from gatelearn.server.training.pool import WorkerPool
from gatelearn.server.training.service import TrainingService
from gatelearn.v1 import gatelearn_pb2

__all__ = [
    "DEFAULT_ADDRESS",
    "MAX_GRACE",
    "RunningServer",
    "ServerConfig",
    "create_server",
    "serve",
]

SHUTDOWN_BACKSTOP = 1.0  # seconds after the grace period before gRPC cancels what is left
# Seconds after gRPC's cancellation that we still wait for it to report itself stopped.
STOP_WAIT = 1.0
# The longest shutdown grace: a day, past any training's max_training_seconds default (one of
# 10^12 s overflowed the wait at SIGTERM, which then ended in a traceback, the store left open).
MAX_GRACE = 86400.0
# Seconds a loop's thread gets to end when start-up failed; at a stop, what is left of STOP_WAIT.
LOOP_END_WAIT = 0.2
SERVICE = gatelearn_pb2.DESCRIPTOR.services_by_name["GateLearn"]
SERVICE_NAME = SERVICE.full_name

log = logging.getLogger("gatelearn.server")


# gRPC's options are C ints, and for several this largest one means no limit (for
# max_allowed_incoming_connections, grpcio 1.85 aborts the process on it).
GRPC_NO_LIMIT = 2**31 - 1
# The limits gRPC enforces itself: its option, and the limit that sets it.
GRPC_LIMITS = (
    ("grpc.max_receive_message_length", "max_message_bytes"),
    ("grpc.max_send_message_length", "max_message_bytes"),
    # More wait in the client until one ends: 20,000 open health Watches on one connection
    # took the server from 59 to 420 MB.
    ("grpc.max_concurrent_streams", "max_connection_calls"),
    # Each connection costs memory too (36 MB for 1000, each with its health Watch).
    ("grpc.max_allowed_incoming_connections", "max_connections"),
)


# Only uncompressed messages: gRPC inflates a compressed request in full before any handler
# runs, so 50 gzip requests of 16 kB held 16 MiB each at once (server 65 -> 722 MB).
# A compressed request is refused (UNIMPLEMENTED) before it is inflated, and no answer is sent
# compressed. The bitset's bit 0 is gRPC's identity "compression".
IDENTITY_ONLY = ("grpc.compression_enabled_algorithms_bitset", 1)


def grpc_options(limits: Limits) -> list[tuple[str, int]]:
    """gRPC's server options for `limits`; ValueError names a limit gRPC cannot take."""
    options = []
    for option, name in GRPC_LIMITS:
        if (value := getattr(limits, name)) >= GRPC_NO_LIMIT:
            raise ValueError(f"limit {name} ({value}) must be below gRPC's {GRPC_NO_LIMIT}")
        options.append((option, value))
    # A second server on a port in use must fail, not share it.
    return [*options, ("grpc.so_reuseport", 0), IDENTITY_ONLY]


@dataclass(frozen=True)
class ServerConfig:
    address: str = DEFAULT_ADDRESS
    data_dir: Path = field(default_factory=default_data_dir)
    store: str | None = None  # sqlite:///DIR or postgresql://...; None: SQLite in data_dir
    plugins: tuple[str, ...] = ()  # extra plugin modules to load
    limits: Limits = Limits()
    workers: int = 16  # threads running the calls that are not answered on the event loop
    grace: float = 5.0  # seconds running calls get to finish at shutdown
    tls_cert: Path | None = None  # serve TLS with this certificate ...
    tls_key: Path | None = None  # ... and this private key
    tls_client_ca: Path | None = None  # require client certificates signed by this CA
    auth_token: str | None = None  # require `authorization: Bearer <token>` on every call
    metrics_address: str | None = None  # serve Prometheus metrics at http://HOST:PORT/metrics
    # Watch every call (as metrics do): log lines carry its x-request-id, a DEBUG line its end.
    log_calls: bool = False
    # serve() only: every thread of the process at the lowest real-time priority where the system
    # allows it (priority.py); create_server leaves its caller's process as it is.
    realtime: bool = True


@dataclass
class RunningServer:
    """A started server and what it owns."""

    server: grpc.aio.Server
    loop: LoopThread
    threads: ThreadPoolExecutor  # the calls' synchronous work
    port: int
    service: GateLearnService
    health: HealthService
    store: Store
    pool: WorkerPool
    store_health: StoreHealth
    metrics: MetricsEndpoint | None = None
    stopped: bool | None = None  # what the first stop returned

    def stop(self, grace: float | None = None) -> bool:
        """Report NOT_SERVING, refuse new calls, let running ones finish, close the store.

        Returns within `grace` + SHUTDOWN_BACKSTOP + STOP_WAIT seconds whatever gRPC's state;
        True when every training had ended by then (none was cut off by the close). A second
        stop returns what the first did."""
        if self.stopped is None:
            self.stopped = self._stop(grace)
        return self.stopped

    def _stop(self, grace: float | None) -> bool:
        self.health.enter_graceful_shutdown()  # connected clients see NOT_SERVING
        # Running trainings get `grace` seconds, then end CANCELLED and save nothing; gRPC's
        # own cancellation, a little later, is only the backstop.
        self.service.training.shut_down_after(grace or 0.0)
        backstop = (grace or 0.0) + SHUTDOWN_BACKSTOP
        deadline = time.monotonic() + backstop + STOP_WAIT
        try:
            self.loop.run(self.server.stop(backstop), backstop + STOP_WAIT)
        except TimeoutError:
            log.warning(
                "gRPC did not report itself stopped %.1f s after the grace period; closing anyway",
                SHUTDOWN_BACKSTOP + STOP_WAIT,
            )
        trainings_ended = self.pool.busy == 0
        # A call still computing (a large Predict) finishes in its thread; its answer is lost.
        self.threads.shutdown(wait=False, cancel_futures=True)
        # The loop's thread is a daemon: one still busy (an answer computed on it) is left.
        self.loop.close(max(0.0, deadline - time.monotonic()))
        self.pool.close()
        self.store_health.stop()
        self.store.close()
        if self.metrics is not None:
            self.metrics.stop()
        return trainings_ended


def create_server(config: ServerConfig) -> RunningServer:
    """Open the store, load plugins, and start serving on `config.address`."""
    if config.auth_token is not None and not config.auth_token:
        raise ValueError("the auth token is empty")
    options = grpc_options(config.limits)  # before anything starts: a limit may be refused
    if not 0 <= config.grace <= MAX_GRACE:  # NaN too
        raise ValueError(f"grace must be 0 to {MAX_GRACE:g} seconds, got {config.grace}")
    # Each open stream and each running training holds a thread (a training also a worker
    # process, all started at once: max_concurrent_trainings=1000 left the server spawning them).
    for name, holders in (
        ("max_open_streams", "open streams"),
        ("max_concurrent_trainings", "running trainings"),
    ):
        if (held := getattr(config.limits, name)) >= config.workers:
            raise ValueError(
                f"{name} ({held}) must be below the server's threads ({config.workers}): "
                f"{holders} would leave none to answer calls"
            )
    if config.limits.max_layers > MAX_LISTED:  # an import lists every layer, up to max_layers
        raise ValueError(
            f"max_layers ({config.limits.max_layers}) must be at most {MAX_LISTED} "
            f"(max_listed_components, fixed): more activations are refused on the request's bytes"
        )
    if (config.tls_cert is None) != (config.tls_key is None):
        raise ValueError("--tls-cert and --tls-key go together")
    if config.tls_client_ca is not None and config.tls_cert is None:
        raise ValueError("--tls-client-ca needs --tls-cert and --tls-key")
    if not is_loopback(config.address) and not (config.tls_cert and config.auth_token):
        log.warning(
            "listening on %s without TLS and a token: anyone who can reach it can "
            "train and read models",
            config.address,
        )
    # Checked first: a bad metrics address or a missing extra stops start-up at once.
    metrics_at = parse_metrics_address(config.metrics_address) if config.metrics_address else None
    metrics = ServerMetrics() if metrics_at else None
    if metrics_at and not is_loopback(f"{metrics_at[0]}:{metrics_at[1]}"):
        log.warning(
            "serving metrics on %s over plain HTTP: anyone who can reach it can read them",
            config.metrics_address,
        )
    registry = build_registry(create_manager(config.plugins))
    demote_peer_caused()  # what a client did is no server error
    loop = LoopThread()
    health_servicer = HealthService(loop.loop)
    # The server as a whole ("") is NOT_SERVING while its store is away, for load balancers;
    # GateLearn itself stays SERVING, so clients balancing by it still reach the models this
    # replica holds in memory (every replica shares the store: none would do better).
    store_health = StoreHealth(health_servicer, ("",))
    opened = open_store(config.store, config.data_dir, store_health.unavailable_seen)
    store: Store = ObservedStore(opened, metrics) if metrics else opened
    pool = (ObservedPool if metrics else WorkerPool)(
        config.limits.max_concurrent_trainings, config.plugins, config.limits
    )
    limits = config.limits
    cache = ModelCache(store, registry, limits.cached_models, limits.cached_bytes)
    service = GateLearnService(
        registry,
        limits,
        TrainingService(store, limits, pool, registry),
        ModelService(registry, store, limits, cache),
    )
    if metrics:
        metrics.watch(pool, cache)
    # The observer comes first, so it also counts calls the token check refuses.
    interceptors: list[grpc.aio.ServerInterceptor] = (
        [RpcObserver(metrics)] if metrics or config.log_calls else []
    )
    if config.auth_token:
        interceptors.append(TokenInterceptor(config.auth_token))
    threads = ThreadPoolExecutor(config.workers, thread_name_prefix="gatelearn-call")
    # Made on the loop's thread: grpc.aio binds a server to the loop it is made on.
    server = loop.call(lambda: grpc.aio.server(options=options, interceptors=interceptors))
    open_streams = OpenStreams(limits.max_open_streams)  # the other threads answer calls
    # Quick calls stay off the loop where a read may wait on the network (a remote store) or a
    # plugin's code may run (Predict): a plugin sleeping there stopped every call meanwhile.
    builtins_only = all(entry.plugin in DEFAULT_PLUGINS for entry in registry.entries())
    calls = Calls(
        threads, open_streams, quick_on_loop=builtins_only and not store.remote, registry=registry
    )
    add_decoding_servicer(service, server, SERVICE, calls)  # undecodable: INVALID_ARGUMENT
    health_service = health_pb2.DESCRIPTOR.services_by_name["Health"]
    add_decoding_servicer(health_servicer, server, health_service, calls)
    add_reflection(server, (SERVICE_NAME, health.SERVICE_NAME), calls)
    try:
        check_free(config.address)
        if config.tls_cert and config.tls_key:
            credentials = server_credentials(config.tls_cert, config.tls_key, config.tls_client_ca)
            port = loop.call(lambda: server.add_secure_port(config.address, credentials))
        else:
            port = loop.call(lambda: server.add_insecure_port(config.address))
        endpoint = (
            start_endpoint(metrics_at, metrics.exposition()) if metrics and metrics_at else None
        )
    except (OSError, RuntimeError):  # grpc raises RuntimeError when it cannot bind
        threads.shutdown()
        loop.close(LOOP_END_WAIT)
        pool.close()
        store.close()
        raise
    loop.run(server.start())
    for name in ("", SERVICE_NAME):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    store_health.start(store)  # NOT_SERVING while the store cannot be reached
    return RunningServer(
        server, loop, threads, port, service, health_servicer, store, pool, store_health, endpoint
    )


def plugin_lines(registry: Registry) -> list[str]:
    """What `serve` says it loaded: the built-ins in one line, then each other plugin with its
    version and components, e.g. `plugin example 0.1.0: task mux, activation softsign`."""
    by_plugin: dict[str, list[Entry]] = {}
    for entry in registry.entries():
        by_plugin.setdefault(entry.plugin, []).append(entry)
    builtin = [name for name in by_plugin if name in DEFAULT_PLUGINS]
    lines = [
        f"built-in plugins: {len(builtin)}, "
        f"{sum(len(by_plugin[name]) for name in builtin)} components"
    ]
    for name, entries in by_plugin.items():
        if name not in DEFAULT_PLUGINS:
            components = ", ".join(f"{e.kind} {e.name}" for e in entries)
            lines.append(f"plugin {name} {entries[0].version}: {components}")
    return lines


def serve(config: ServerConfig) -> bool:
    """Run a server until SIGTERM or SIGINT, then shut it down within `config.grace` (plus a
    backstop); True when every training ended cleanly."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):  # before start-up, so none is missed
        signal.signal(signum, lambda *_: stop.set())
    # Before start-up, so that every thread gRPC and the server start inherits it.
    realtime = config.realtime and serve_in_real_time()
    keep_freed_memory()  # this process is the server's own: its allocator may be tuned for it
    running = create_server(config)
    freeze_start_up()  # this process is the server's own: its collector may be tuned for it
    host = config.address.rsplit(":", 1)[0]
    where = f"store {redacted(config.store)}" if config.store else f"data in {config.data_dir}"
    log.info(
        "gatelearn serving on %s:%d (%s), %s priority",
        host,
        running.port,
        where,
        "real-time" if realtime else "ordinary",
    )
    print(f"gatelearn serving on {host}:{running.port}, {where}", flush=True)
    for line in plugin_lines(running.service.registry):
        print(line, flush=True)
    while not stop.wait(0.5):  # a timed wait: the main thread must get to run the handler
        pass
    log.info("shutting down")
    return running.stop(config.grace)
