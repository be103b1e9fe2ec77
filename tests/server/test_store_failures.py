"""How a server answers when its PostgreSQL store fails in ways other than an outage, each
provoked on a real database: a statement past the database's timeout is DEADLINE_EXCEEDED, a
write that deadlocks on every try is ABORTED, and a pool whose every connection is in use is
UNAVAILABLE saying so, while health stays SERVING (the database answers)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
from conftest import poll, start_server
from grpc_health.v1 import health_pb2, health_pb2_grpc
from postgres_support import WRITERS_TURN, deadlock_once, holding, waiting_on_locks, with_setting
from server_test_support import expect_error

from gatelearn.client import Client, GateLearnError, TrainOptions
from gatelearn.server.stores import postgres


@contextlib.contextmanager
def serving_m(tmp_path: Path, url: str) -> Iterator[tuple[int, Client]]:
    """A server on `url` that stores model m (version 1), and a client that never retries."""
    running = start_server(tmp_path / "unused", store=url)
    try:
        with Client(f"127.0.0.1:{running.port}", retries=0) as client:
            client.train("m", "xor", options=TrainOptions(epochs=50))
            yield running.port, client
    finally:
        running.stop(0)


def overall_health(port: int) -> int:
    """The health status of the server as a whole (what load balancers read)."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        request = health_pb2.HealthCheckRequest(service="")
        return int(health_pb2_grpc.HealthStub(channel).Check(request, timeout=5).status)


def test_a_statement_past_the_databases_timeout_answers_deadline_exceeded(
    tmp_path: Path, postgres_url: str
) -> None:
    with serving_m(tmp_path, with_setting(postgres_url, "statement_timeout=300")) as (_, client):
        with holding(postgres_url, WRITERS_TURN):
            details = expect_error(grpc.StatusCode.DEADLINE_EXCEEDED, client.delete, "m")
        assert "past the database's statement_timeout" in details
        assert [summary.version for summary in client.models("m")] == [1]


def test_a_write_that_deadlocks_on_every_try_answers_aborted(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres, "WRITE_ATTEMPTS", 1)
    with serving_m(tmp_path, postgres_url) as (_, client):
        details = deadlock_once(
            postgres_url,
            lambda: expect_error(grpc.StatusCode.ABORTED, client.delete, "m", version=1),
        )
        assert "deadlock detected" in details
        assert "was not done (tries: 1): retry it" in details
        assert client.delete("m", version=1) == [1]


def test_a_busy_pool_answers_unavailable_and_health_stays_serving(
    tmp_path: Path, postgres_url: str
) -> None:
    with serving_m(tmp_path, postgres_url) as (port, client):

        def delete() -> list[int]:
            """[1] for the delete that removes m:1, [] for those that find it gone."""
            try:
                return client.delete("m", version=1)
            except GateLearnError as error:
                assert error.code == grpc.StatusCode.NOT_FOUND, error
                return []

        with (
            ThreadPoolExecutor(postgres.POOL_SIZE) as executor,
            holding(postgres_url, WRITERS_TURN) as other,
        ):
            # Every pooled connection is taken by a delete waiting for the writers' turn.
            deletes = [executor.submit(delete) for _ in range(postgres.POOL_SIZE)]
            poll(lambda: waiting_on_locks(postgres_url) == postgres.POOL_SIZE, 15.0, "deletes")
            details = expect_error(grpc.StatusCode.UNAVAILABLE, client.models)
            assert f"is busy: all {postgres.POOL_SIZE} of this server's connections" in details
            # Pings found the pool busy too (a second apart), and counted it as answering.
            assert overall_health(port) == health_pb2.HealthCheckResponse.SERVING
            other.rollback()
            outcomes = sorted(deleted.result(timeout=30) for deleted in deletes)
        assert outcomes == [[]] * (postgres.POOL_SIZE - 1) + [[1]]
