"""Replicas whose PostgreSQL stops answering without closing their connections (its processes
paused, as behind a network that drops packets): health must still turn NOT_SERVING, and come
back SERVING with no restart once the database answers again.

A ping used to wait on its connection for as long as the pause lasted, with the health status
left SERVING; when calls held every pooled connection, the ping took that for a busy database.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
from conftest import poll, start_server
from grpc_health.v1 import health_pb2, health_pb2_grpc
from postgres_support import PostgresCluster, sessions

from gatelearn.client import Client, GateLearnError, TrainOptions
from gatelearn.server.app import RunningServer
from gatelearn.server.stores.postgres import POOL_SIZE

NOTICE_BOUND = 10.0  # seconds for health to follow the database (pings are 1 s apart)
ROWS = [[0, 0], [0, 1], [1, 0], [1, 1]]
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.fixture
def database(own_postgres_cluster: PostgresCluster) -> str:
    return own_postgres_cluster.new_database()


@pytest.fixture
def two_servers(tmp_path: Path, database: str) -> Iterator[list[RunningServer]]:
    servers = [start_server(tmp_path / "unused", store=database) for _ in range(2)]
    yield servers
    for server in servers:
        server.stop(0)


def health(server: RunningServer) -> int:
    """The server's overall health status (service "")."""
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        return int(stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5).status)


def test_health_follows_a_paused_database_out_and_back(
    own_postgres_cluster: PostgresCluster, database: str, two_servers: list[RunningServer]
) -> None:
    first, second = (Client(f"127.0.0.1:{server.port}", timeout=60) for server in two_servers)
    with first, second, ThreadPoolExecutor(8) as callers:
        first.train("m", "xor", seed=1, options=TrainOptions(epochs=300))
        assert [health(server) for server in two_servers] == [SERVING, SERVING]

        def fill_the_pools() -> bool:
            """Concurrent calls until each server has opened all 4 of its pooled connections."""
            calls = [callers.submit(client.models) for client in (first, second) * 8]
            for call in calls:
                call.result()
            return sessions(database, "backend_type = 'client backend'") >= 2 * POOL_SIZE

        poll(fill_the_pools, 30.0, "both servers to open every pooled connection")
        with own_postgres_cluster.paused():
            # Calls on both replicas, more than a server's 4 pooled connections: every
            # connection ends up waiting on the paused database.
            stuck = [
                callers.submit(client.models, "m") for client in (first, second) for _ in range(4)
            ]
            poll(
                lambda: [health(server) for server in two_servers] == [NOT_SERVING] * 2,
                NOTICE_BOUND,
                "both replicas to report NOT_SERVING",
                interval=0.1,
            )
        poll(
            lambda: [health(server) for server in two_servers] == [SERVING] * 2,
            NOTICE_BOUND,
            "both replicas to report SERVING again",
            interval=0.1,
        )
        for call in stuck:  # they waited out the pause, or were refused as unavailable
            try:
                assert [m.version for m in call.result(timeout=60)] == [1]
            except GateLearnError as error:
                assert error.code == grpc.StatusCode.UNAVAILABLE, error
        saved = second.train("m", "xor", seed=2, options=TrainOptions(epochs=300))
        assert saved.model.version == 2
        assert first.predict("m", ROWS).model.version == 2
