"""Two servers on one store answer as one: what either acknowledged, the other's next call sees.

Each test starts two real servers on one database (PostgreSQL, or SQLite in one data directory)
and talks to them through the real client; nothing waits or polls between the write on one and
the read on the other, because the guarantee is that the very next call sees the write.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import grpc
import pytest
from conftest import linear_model, start_server
from google.protobuf import json_format

from gatelearn.client import Client, GateLearnError, TrainOptions, TrainOutcome
from gatelearn.v1 import gatelearn_pb2 as pb
from gatelearn.v1 import gatelearn_pb2_grpc


def not_found(call: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    """The details of `call`'s NOT_FOUND failure."""
    with pytest.raises(GateLearnError) as failed:
        call(*args, **kwargs)
    assert failed.value.code == grpc.StatusCode.NOT_FOUND, failed.value
    return failed.value.details


@pytest.fixture(params=["postgres", "sqlite"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """One store for both replicas: a new PostgreSQL database, or one SQLite data directory."""
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite://{tmp_path / 'shared'}"


@pytest.fixture
def replicas(store_url: str, tmp_path: Path) -> Iterator[tuple[Client, Client]]:
    """Clients of two servers sharing `store_url`."""
    servers = [start_server(tmp_path / "unused", store=store_url) for _ in range(2)]
    clients = [Client(f"127.0.0.1:{server.port}") for server in servers]
    yield clients[0], clients[1]
    for client, server in zip(clients, servers, strict=True):
        client.close()
        server.stop(0)


def test_a_model_trained_on_one_replica_predicts_and_evaluates_on_the_other(
    replicas: tuple[Client, Client],
) -> None:
    a, b = replicas
    trained = a.train("x", "xor", options=TrainOptions(epochs=2000))
    assert b.predict("x", [[0, 1]]).model == trained.model
    evaluation = b.evaluate("x")
    assert (evaluation.model, evaluation.accuracy) == (trained.model, trained.metrics.accuracy)


def test_latest_on_one_replica_follows_a_save_on_the_other(
    replicas: tuple[Client, Client],
) -> None:
    a, b = replicas
    a.import_model("sh", linear_model(0.1))
    assert str(b.predict("sh", [[0, 0]]).model) == "sh:1"  # B now holds sh:1 as the latest
    a.import_model("sh", linear_model(0.2))
    prediction = b.predict("sh", [[0, 0]])
    assert (str(prediction.model), prediction.outputs) == ("sh:2", [[pytest.approx(0.2)]])
    assert str(b.evaluate("sh").model) == "sh:2"


def test_a_delete_on_one_replica_is_not_found_on_the_other_at_once(
    replicas: tuple[Client, Client],
) -> None:
    a, b = replicas
    for bias in (0.1, 0.2, 0.3):
        a.import_model("sh", linear_model(bias))
    assert str(b.predict("sh", [[0, 0]]).model) == "sh:3"  # cached on B, pinned and latest
    assert str(b.predict("sh", [[0, 0]], version=3).model) == "sh:3"
    assert a.delete("sh", version=3) == [3]
    assert "version 3 not found" in not_found(b.predict, "sh", [[0, 0]], version=3)
    prediction = b.predict("sh", [[0, 0]])
    assert (str(prediction.model), prediction.outputs) == ("sh:2", [[pytest.approx(0.2)]])
    assert a.delete("sh") == [1, 2]
    not_found(b.predict, "sh", [[0, 0]])
    not_found(b.evaluate, "sh", version=2)


def test_an_alias_moved_on_one_replica_is_followed_by_the_others_next_predict(
    replicas: tuple[Client, Client],
) -> None:
    a, b = replicas
    for bias in (0.1, 0.2):
        a.import_model("sh", linear_model(bias))
    a.set_alias("sh", "stable", 1)
    assert str(b.predict("sh@stable", [[0, 0]]).model) == "sh:1"  # B now remembers the alias
    a.set_alias("sh", "stable", 2)
    prediction = b.predict("sh@stable", [[0, 0]])
    assert (str(prediction.model), prediction.outputs) == ("sh:2", [[pytest.approx(0.2)]])
    assert str(b.evaluate("sh@stable").model) == "sh:2"
    assert a.delete_alias("sh", "stable") == 2
    assert "has no alias 'stable'" in not_found(b.predict, "sh@stable", [[0, 0]])
    assert b.delete("sh", version=2) == [2]  # no alias holds it any more


def test_a_replica_busy_answering_predicts_sees_each_save_of_the_other_on_its_next_call(
    replicas: tuple[Client, Client],
) -> None:
    """B's concurrent calls share its reads of the change log: none may answer from a read
    that began before the save it follows was acknowledged."""
    a, b = replicas
    a.import_model("busy", linear_model(0.5))
    a.import_model("sh", linear_model(0.01))
    stop = threading.Event()

    def keep_predicting() -> int:
        calls = 0
        while not stop.is_set():
            b.predict("busy", [[0, 0]])
            calls += 1
        return calls

    with ThreadPoolExecutor(4) as pool:
        busy = [pool.submit(keep_predicting) for _ in range(4)]
        try:
            for version in range(2, 22):
                a.import_model("sh", linear_model(version / 100))
                prediction = b.predict("sh", [[0, 0]])
                assert (str(prediction.model), prediction.outputs) == (
                    f"sh:{version}",
                    [[pytest.approx(version / 100)]],
                )
        finally:
            stop.set()
        assert all(future.result() > 0 for future in busy)


def test_concurrent_trainings_of_one_name_on_both_replicas_get_distinct_consecutive_versions(
    postgres_url: str,
    tmp_path: Path,
) -> None:
    servers = [start_server(tmp_path / "unused", store=postgres_url) for _ in range(2)]
    start = threading.Barrier(4)  # two trainings at once per server (max_concurrent_trainings)

    def train_three(port: int) -> list[int]:
        with Client(f"127.0.0.1:{port}") as client:
            start.wait()
            return [
                client.train(
                    "shared", "xor", options=TrainOptions(epochs=100), seed=seed
                ).model.version
                for seed in range(3)
            ]

    try:
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(train_three, [s.port for s in servers for _ in range(2)]))
        with Client(f"127.0.0.1:{servers[1].port}") as client:
            listed = [summary.version for summary in client.models("shared")]
    finally:
        for server in servers:
            server.stop(0)
    assert sorted(version for result in results for version in result) == list(range(1, 13))
    assert listed == list(range(1, 13))


def _train_with_id(client: Client, request_id: str) -> tuple[int, TrainOutcome]:
    """Train model "r" with `request_id`; the number of progress events and the outcome."""
    request = client.train_request("r", "xor", options=TrainOptions(epochs=300), seed=4)
    request.request_id = request_id
    events = list(client.train_events(request))
    outcome = events[-1]
    assert isinstance(outcome, TrainOutcome)
    return len(events) - 1, outcome


def test_a_train_retried_on_the_other_replica_returns_the_saved_version(
    replicas: tuple[Client, Client],
) -> None:
    a, b = replicas
    _, first = _train_with_id(a, "retry-1")
    progress, again = _train_with_id(b, "retry-1")
    assert progress == 0  # nothing trained: only the TrainDone of the saved version
    assert (again.model, again.metrics, again.stop_reason, again.epochs) == (
        first.model,
        first.metrics,
        first.stop_reason,
        first.epochs,
    )
    assert [m.version for m in b.models("r")] == [first.model.version]
    assert _train_with_id(b, "retry-2")[1].model.version == first.model.version + 1


def _import_with_id(client: Client, request_id: str, bias: float) -> str:
    exported = pb.ExportedModel()
    json_format.ParseDict(linear_model(bias), exported)
    request = pb.ImportModelRequest(name="imp", model=exported, request_id=request_id)
    ref = gatelearn_pb2_grpc.GateLearnStub(client._channel).ImportModel(request)  # noqa: SLF001
    return f"{ref.name}:{ref.version}"


def test_an_import_retried_on_the_other_replica_returns_the_saved_version(
    replicas: tuple[Client, Client],
) -> None:
    a, b = replicas
    assert _import_with_id(a, "import-1", 0.1) == "imp:1"
    assert _import_with_id(b, "import-1", 0.1) == "imp:1"
    assert [m.version for m in a.models("imp")] == [1]
    assert _import_with_id(b, "import-2", 0.1) == "imp:2"


@pytest.mark.parametrize(
    ("request_id", "says"),
    [
        ("x" * 129, "at most 128 characters, got 129"),
        ("has space", "may hold only letters, digits"),
        ("é", "may hold only letters, digits"),
    ],
)
def test_a_bad_request_id_is_refused_naming_it_and_nothing_is_saved(
    replicas: tuple[Client, Client],
    request_id: str,
    says: str,
) -> None:
    a, _ = replicas
    for call in (
        partial(_train_with_id, a, request_id),
        partial(_import_with_id, a, request_id, 0.1),
    ):
        with pytest.raises((GateLearnError, grpc.RpcError)) as refused:
            call()
        error = refused.value
        code, details = (
            (error.code, error.details)
            if isinstance(error, GateLearnError)
            else (error.code(), error.details())
        )
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert details.startswith("request_id: ") and says in details
    assert a.models() == []


def test_one_request_trained_on_both_replicas_at_once_is_saved_once(
    replicas: tuple[Client, Client],
) -> None:
    start = threading.Barrier(2)

    def attempt(client: Client) -> TrainOutcome:
        start.wait()
        return _train_with_id(client, "both")[1]

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(attempt, replicas))
    assert outcomes[0].model == outcomes[1].model
    assert [m.version for m in replicas[0].models("r")] == [outcomes[0].model.version]
