"""The scale-out figures of bench/run.py: replicas on one PostgreSQL, behind nginx.

PostgreSQL 16 comes from the `pgserver` package (a fresh cluster in a temporary directory),
nginx from the machine (deploy/nginx.conf with its ports changed), replicas are `gatelearn
serve --store postgresql://...` subprocesses, so each has its own interpreter as in production.
Everything listens on 127.0.0.1 and is stopped when the figures are done.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _served import free_port, served

from gatelearn.server.stores.meta import ModelMeta

__all__ = ["Cluster", "Replicas", "cluster", "nginx_front", "replica", "replicas", "save_seconds"]

DEPLOY_CONFIG = Path(__file__).parents[1] / "deploy" / "nginx.conf"
DEPLOYED_FRONT = "127.0.0.1:50051"
DEPLOYED_REPLICAS = ("127.0.0.1:50061", "127.0.0.1:50062")


@dataclass
class Cluster:
    """A running PostgreSQL and a way to make empty databases in it."""

    server: Any
    count: int = 0

    def database(self) -> str:
        import psycopg

        self.count += 1
        name = f"bench_{self.count}"
        with psycopg.connect(self.server.get_uri(), autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return str(self.server.get_uri(database=name))


@contextlib.contextmanager
def cluster() -> Iterator[Cluster]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset for root
        import pgserver
    directory = Path(tempfile.mkdtemp(prefix="gatelearn-bench-pg-"))
    server = pgserver.get_server(directory / "pgdata", cleanup_mode="delete")
    try:
        yield Cluster(server)
    finally:
        server.cleanup()
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def replica(store: str) -> Iterator[str]:
    """`gatelearn serve --store STORE` in a subprocess; its address once it serves."""
    with served("--store", store) as server:
        yield server.address


@contextlib.contextmanager
def nginx_front(replicas: tuple[str, str]) -> Iterator[str]:
    """nginx from deploy/nginx.conf in front of `replicas`; its address."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    front = f"127.0.0.1:{free_port()}"
    config = DEPLOY_CONFIG.read_text().replace(DEPLOYED_FRONT, front)
    for deployed, address in zip(DEPLOYED_REPLICAS, replicas, strict=True):
        config = config.replace(deployed, address)
    with tempfile.TemporaryDirectory(prefix="gatelearn-bench-nginx-") as prefix:
        for folder in ("logs", "temp"):
            Path(prefix, folder).mkdir()
        Path(prefix, "nginx.conf").write_text(config)
        process = subprocess.Popen(
            [binary, "-p", prefix, "-c", f"{prefix}/nginx.conf", "-g", "daemon off;"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            host, port = front.rsplit(":", 1)
            deadline = time.monotonic() + 10
            while True:
                with (
                    contextlib.suppress(OSError),
                    socket.create_connection((host, int(port)), timeout=0.2),
                ):
                    break
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("nginx did not start (is it installed?)")
                time.sleep(0.05)
            yield front
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=10)


def save_seconds(
    stores: dict[str, Any],
    blob: bytes,
    meta: ModelMeta,
    saves: int,
    rounds: int,
    interleave: Callable[..., dict[str, list[float]]],
) -> dict[str, float]:
    """Median seconds of one `save_packed` per store, `saves` in a row, rounds interleaved."""

    def run(store: Any) -> float:
        start = time.perf_counter()
        for _ in range(saves):
            store.save_packed("bench-save", meta, blob, None)
        return (time.perf_counter() - start) / saves

    times = interleave(
        {name: functools.partial(run, store) for name, store in stores.items()}, rounds
    )
    return {name: statistics.median(values) for name, values in times.items()}


@dataclass(frozen=True)
class Replicas:
    """Two replicas on one database, nginx in front of them, and the database's URL."""

    url: str
    a: str
    b: str
    front: str


@contextlib.contextmanager
def replicas() -> Iterator[Replicas]:
    with cluster() as pg:
        url = pg.database()
        with replica(url) as a, replica(url) as b, nginx_front((a, b)) as front:
            yield Replicas(url, a, b, front)
