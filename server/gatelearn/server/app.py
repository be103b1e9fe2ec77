"""Building and running the server: GateLearn beside the standard health and reflection services.

`create_server` builds a started server and returns it with its bound port (bind port 0 in
tests); `serve` runs one until SIGTERM or Ctrl-C and shuts it down cleanly.
"""

from __future__ import annotations

import logging
import signal
import threading
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from gatelearn.plugins import build_registry, create_manager
from gatelearn.server.limits import Limits
from gatelearn.server.paths import default_data_dir
from gatelearn.server.service import GateLearnService
from gatelearn.server.store import Store
from gatelearn.v1 import gatelearn_pb2, gatelearn_pb2_grpc

__all__ = ["DEFAULT_ADDRESS", "RunningServer", "ServerConfig", "create_server", "serve"]

DEFAULT_ADDRESS = "127.0.0.1:50051"
SERVICE_NAME = gatelearn_pb2.DESCRIPTOR.services_by_name["GateLearn"].full_name

log = logging.getLogger("gatelearn.server")


@dataclass(frozen=True)
class ServerConfig:
    address: str = DEFAULT_ADDRESS
    data_dir: Path = field(default_factory=default_data_dir)
    plugins: tuple[str, ...] = ()  # extra plugin modules to load
    limits: Limits = Limits()
    workers: int = 16  # threads answering RPCs
    grace: float = 5.0  # seconds running calls get to finish at shutdown


@dataclass
class RunningServer:
    """A started server and what it owns."""

    server: grpc.Server
    port: int
    service: GateLearnService
    health: health.HealthServicer
    store: Store

    def stop(self, grace: float | None = None) -> None:
        """Report NOT_SERVING, refuse new calls, let running ones finish, close the store."""
        self.health.enter_graceful_shutdown()
        self.service.shutdown()
        self.server.stop(grace).wait()
        self.store.close()


def create_server(config: ServerConfig) -> RunningServer:
    """Open the store, load plugins, and start serving on `config.address`."""
    registry = build_registry(create_manager(config.plugins))
    store = Store(config.data_dir)
    service = GateLearnService(registry, store, config.limits)
    options = [
        ("grpc.max_receive_message_length", config.limits.max_message_bytes),
        ("grpc.max_send_message_length", config.limits.max_message_bytes),
    ]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=config.workers),
                         options=options)
    gatelearn_pb2_grpc.add_GateLearnServicer_to_server(service, server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    port = server.add_insecure_port(config.address)
    if port == 0:
        store.close()
        raise OSError(f"cannot listen on {config.address}")
    server.start()
    for name in ("", SERVICE_NAME):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return RunningServer(server, port, service, health_servicer, store)


def serve(config: ServerConfig) -> None:
    """Run a server until SIGTERM or SIGINT, then shut it down within `config.grace`."""
    running = create_server(config)
    host = config.address.rsplit(":", 1)[0]
    log.info("gatelearn serving on %s:%d (data in %s)", host, running.port, config.data_dir)
    print(f"gatelearn serving on {host}:{running.port}, data in {config.data_dir}", flush=True)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    log.info("shutting down")
    running.stop(config.grace)
