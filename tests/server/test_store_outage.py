"""A server whose PostgreSQL goes away and comes back, the server itself never restarted.

While the database is down, health says NOT_SERVING (so load balancers route elsewhere), calls
that need the store answer UNAVAILABLE saying the store cannot be reached, and Predict and
Evaluate of models already in memory keep answering. Once the database is back, health is
SERVING again and every call works, on the same server.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from conftest import poll, start_server
from grpc_health.v1 import health_pb2, health_pb2_grpc
from postgres_support import PostgresCluster
from server_test_support import expect_error

from gatelearn.client import Client, TrainOptions
from gatelearn.server.app import SERVICE_NAME, RunningServer
from gatelearn.v1 import gatelearn_pb2 as pb
from gatelearn.v1 import gatelearn_pb2_grpc

ROWS = [[0, 0], [0, 1], [1, 0], [1, 1]]
NOTICE_BOUND = 10.0  # seconds for health to follow the database (pings are 1 s apart)
Status = health_pb2.HealthCheckResponse.ServingStatus


@pytest.fixture
def outage_server(tmp_path: Path, own_postgres_cluster: PostgresCluster) -> Iterator[RunningServer]:
    running = start_server(tmp_path / "unused", store=own_postgres_cluster.new_database())
    yield running
    running.stop(0)


def statuses(address: str) -> tuple[Status, Status]:
    """The health status of the server as a whole and of GateLearn."""
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        return tuple(
            stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status
            for service in ("", SERVICE_NAME)
        )


def test_health_calls_and_cached_predicts_follow_the_database_down_and_back(
    own_postgres_cluster: PostgresCluster, outage_server: RunningServer
) -> None:
    address = f"127.0.0.1:{outage_server.port}"
    serving = (health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.SERVING)
    # The server as a whole is NOT_SERVING (load balancers route elsewhere); GateLearn stays
    # SERVING, so a client balancing by it still reaches the cache.
    not_serving = (
        health_pb2.HealthCheckResponse.NOT_SERVING,
        health_pb2.HealthCheckResponse.SERVING,
    )
    with Client(address) as client:
        client.train("m", "xor", seed=1, options=TrainOptions(epochs=300))
        cached = {
            version: client.predict("m", ROWS, version=version).outputs for version in (0, 1)
        }  # "latest" and pinned, both now in memory
        evaluated = client.evaluate("m", version=1).rows
        assert statuses(address) == serving

        own_postgres_cluster.shut_down_immediately()
        try:
            down_at = time.monotonic()
            poll(
                lambda: statuses(address) == not_serving,
                NOTICE_BOUND,
                "health to report NOT_SERVING",
                interval=0.1,
            )
            noticed_after = time.monotonic() - down_at
            # Without the client's retries, which only repeat the same answer here (each of
            # these calls took about 6 s with them): what the server says is what is checked.
            with Client(address, retries=0) as once:
                for call in (
                    lambda: once.train("m", "xor", options=TrainOptions(epochs=10)),
                    once.models,
                    lambda: once.model("m"),
                    lambda: once.predict("never-loaded", ROWS),
                ):
                    details = expect_error(grpc.StatusCode.UNAVAILABLE, call)
                    assert details.startswith("the model store (PostgreSQL at "), details
                    assert "cannot be reached" in details
            for version, outputs in cached.items():
                assert client.predict("m", ROWS, version=version).outputs == outputs
            assert client.evaluate("m", version=1).rows == evaluated
            assert statuses(address) == not_serving
        finally:
            own_postgres_cluster.start_again()

        poll(
            lambda: statuses(address) == serving,
            NOTICE_BOUND,
            "health to report SERVING",
            interval=0.1,
        )
        assert client.train("m", "xor", seed=2, options=TrainOptions(epochs=300)).model.version == 2
        assert [m.version for m in client.models("m")] == [1, 2]
        assert client.model("m", version=1).summary.version == 1
    print(f"\nNOT_SERVING {noticed_after:.1f}s after the database stopped")


def test_quick_calls_waiting_for_the_database_wait_side_by_side(
    own_postgres_cluster: PostgresCluster, outage_server: RunningServer
) -> None:
    """With PostgreSQL, a quick call's read is a round trip that waits while the database is
    away (0.5 s here), so quick calls run in pool threads, not on the event loop where each
    would hold up every other call (a health Check sent behind them too): eight GetModels
    waiting for the database wait together."""
    address = f"127.0.0.1:{outage_server.port}"
    own_postgres_cluster.shut_down_immediately()
    try:
        poll(
            lambda: statuses(address)[0] == health_pb2.HealthCheckResponse.NOT_SERVING,
            NOTICE_BOUND,
            "health to report NOT_SERVING",
            interval=0.1,
        )
        with grpc.insecure_channel(address) as channel:
            started = time.monotonic()
            waiting = [
                gatelearn_pb2_grpc.GateLearnStub(channel).GetModel.future(
                    pb.GetModelRequest(name=f"m{index}"), timeout=30
                )
                for index in range(8)
            ]
            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=30)
            codes = [call.exception().code() for call in waiting]  # type: ignore[union-attr]
            waited = time.monotonic() - started
        assert codes == [grpc.StatusCode.UNAVAILABLE] * 8
        # Generous: side by side they took 0.5 s; one after another on the loop, 4.0 s.
        assert waited < 2.5, f"the GetModels took {waited:.1f} s: they waited in turn"
    finally:
        own_postgres_cluster.start_again()
