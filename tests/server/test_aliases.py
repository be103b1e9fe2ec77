"""Version aliases through the real client and stubs: set, move and delete them, name a version
as NAME@ALIAS (or NAME:VERSION) in every call that takes one, and the refusals."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from conftest import linear_model, start_server
from server_test_support import expect_error, store_snapshot

from gatelearn.client import Client
from gatelearn.server.limits import Limits
from gatelearn.v1 import gatelearn_pb2 as pb
from gatelearn.v1 import gatelearn_pb2_grpc

BIASES = (0.1, 0.2, 0.3)  # m:1, m:2 and m:3 answer these on (0, 0)


@pytest.fixture
def versions(client: Client) -> Client:
    """The client, with model "m" stored in three versions and alias "stable" naming m:1."""
    for bias in BIASES:
        client.import_model("m", linear_model(bias))
    assert client.set_alias("m", "stable", 1) == 0
    return client


def answer(client: Client, reference: str, version: int = 0) -> tuple[str, float]:
    prediction = client.predict(reference, [[0, 0]], version=version)
    return str(prediction.model), prediction.outputs[0][0]


def test_an_alias_names_its_version_in_every_call_that_takes_one(versions: Client) -> None:
    client = versions
    assert answer(client, "m@stable") == ("m:1", pytest.approx(0.1))
    assert str(client.evaluate("m@stable").model) == "m:1"
    detail = client.model("m@stable")
    assert (str(detail.summary.ref), detail.summary.aliases) == ("m:1", ["stable"])
    assert client.export_model("m@stable")["version"] == 1
    assert answer(client, "m:2") == ("m:2", pytest.approx(0.2))
    assert answer(client, "m:2", version=2) == ("m:2", pytest.approx(0.2))
    assert client.set_alias("m", "stable", 2) == 1  # moved from 1
    assert client.set_alias("m", "prod", 3) == 0
    assert answer(client, "m@stable") == ("m:2", pytest.approx(0.2))
    assert [(s.version, s.aliases) for s in client.models("m")] == [
        (1, []),
        (2, ["stable"]),
        (3, ["prod"]),
    ]
    assert [(s.name, s.aliases) for s in client.models()] == [("m", ["prod"])]
    assert client.delete_alias("m", "stable") == 2
    assert "has no alias 'stable'" in expect_error(
        grpc.StatusCode.NOT_FOUND, answer, client, "m@stable"
    )


def test_a_stream_resolves_its_alias_once(versions: Client, address: str) -> None:
    def chunk(model: str) -> pb.PredictRequest:
        return pb.PredictRequest(model=model, rows=[pb.Row(values=[0, 0])])

    with grpc.insecure_channel(address) as channel:
        stub = gatelearn_pb2_grpc.GateLearnStub(channel)
        answers = list(
            stub.PredictStream(
                iter([chunk("m@stable"), chunk("m@stable"), chunk(""), chunk("m:1")])
            )
        )
        assert [(a.model.name, a.model.version) for a in answers] == [("m", 1)] * 4
        details = expect_error(
            grpc.StatusCode.INVALID_ARGUMENT,
            lambda: list(stub.PredictStream(iter([chunk("m@stable"), chunk("m:3")]))),
        )
    assert details.startswith("requests[1].model: a stream serves one model: m:1")


def test_a_version_an_alias_names_is_not_deleted(versions: Client) -> None:
    client = versions
    before = store_snapshot(client)
    for reference, version in (("m", 1), ("m", 0), ("m@stable", 0), ("m:1", 0)):
        details = expect_error(
            grpc.StatusCode.FAILED_PRECONDITION, client.delete, reference, version=version
        )
        assert "alias 'stable' (version 1)" in details
    assert store_snapshot(client) == before
    assert client.delete("m", version=3) == [3]  # no alias names it


@pytest.mark.parametrize(
    ("call", "code", "start"),
    [
        (lambda c: c.set_alias("m", "bad alias", 1), "INVALID_ARGUMENT", "alias: may hold only"),
        (lambda c: c.set_alias("m", "", 1), "INVALID_ARGUMENT", "alias: required"),
        (
            lambda c: c.set_alias("m", "a" * 129, 1),
            "INVALID_ARGUMENT",
            "alias: at most 128 characters (limit max_name_length)",
        ),
        (lambda c: c.set_alias("m@x", "s", 1), "INVALID_ARGUMENT", "name: may hold only"),
        (lambda c: c.set_alias("m", "s", 0), "INVALID_ARGUMENT", "version: required"),
        (lambda c: c.set_alias("m", "s", 9), "NOT_FOUND", "model 'm' version 9 not found"),
        (lambda c: c.set_alias("none", "s", 1), "NOT_FOUND", "model 'none' version 1 not found"),
        (lambda c: c.delete_alias("m", "none"), "NOT_FOUND", "model 'm' has no alias 'none'"),
        (lambda c: c.delete_alias("m", "a:b"), "INVALID_ARGUMENT", "alias: may hold only"),
        (lambda c: c.predict("m@none", [[0, 0]]), "NOT_FOUND", "model 'm' has no alias 'none'"),
        (lambda c: c.predict("m@", [[0, 0]]), "INVALID_ARGUMENT", "model: expected NAME@ALIAS"),
        (
            lambda c: c.predict("@stable", [[0, 0]]),
            "INVALID_ARGUMENT",
            "model: expected NAME@ALIAS",
        ),
        (
            lambda c: c.predict("m@stable", [[0, 0]], version=1),
            "INVALID_ARGUMENT",
            "version: must be 0 when model names an alias",
        ),
        (
            lambda c: c.predict("m:0", [[0, 0]]),
            "INVALID_ARGUMENT",
            "model: expected NAME:VERSION with VERSION 1 to 4294967295",
        ),
        (lambda c: c.predict("m:x", [[0, 0]]), "INVALID_ARGUMENT", "model: expected NAME:VERSION"),
        (lambda c: c.predict("m:\u0662", [[0, 0]]), "INVALID_ARGUMENT", "model: expected NAME:"),
        (lambda c: c.predict("m:" + "9" * 5000, [[0, 0]]), "INVALID_ARGUMENT", "model: expected"),
        (
            lambda c: c.predict("m:99999999999", [[0, 0]]),
            "INVALID_ARGUMENT",
            "model: expected NAME:VERSION",
        ),
        (
            lambda c: c.predict("m:2", [[0, 0]], version=3),
            "INVALID_ARGUMENT",
            "version: 3 differs from the version in model",
        ),
        (lambda c: c.evaluate("m@none"), "NOT_FOUND", "model 'm' has no alias 'none'"),
        (lambda c: c.model("m@none"), "NOT_FOUND", "model 'm' has no alias 'none'"),
        (lambda c: c.export_model("m:7"), "NOT_FOUND", "model 'm' version 7 not found"),
        (lambda c: c.model("", version=1), "INVALID_ARGUMENT", "name: required"),
    ],
)
def test_bad_alias_requests_are_refused_naming_the_field_and_change_nothing(
    versions: Client,
    call: Callable[[Client], Any],
    code: str,
    start: str,
) -> None:
    before = (store_snapshot(versions), versions.model("m@stable").summary.ref)
    assert expect_error(grpc.StatusCode[code], call, versions).startswith(start)
    assert (store_snapshot(versions), versions.model("m@stable").summary.ref) == before


def test_max_aliases_bounds_the_aliases_stored(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", limits=Limits(max_aliases=2))
    try:
        with Client(f"127.0.0.1:{server.port}") as client:
            client.import_model("m", linear_model(0.1))
            client.set_alias("m", "a", 1)
            client.set_alias("m", "b", 1)
            details = expect_error(
                grpc.StatusCode.RESOURCE_EXHAUSTED, client.set_alias, "m", "c", 1
            )
            assert details == "the store holds 2 aliases (limit max_aliases); delete some first"
            assert client.set_alias("m", "b", 1) == 1  # setting one that exists adds none
    finally:
        server.stop(0)


def test_predicts_during_alias_moves_answer_the_old_or_the_new_version(
    versions: Client,
    address: str,
) -> None:
    moving = threading.Event()
    moving.set()
    seen: list[tuple[str, float]] = []
    failures: list[BaseException] = []

    def hammer() -> None:
        try:
            with Client(address) as own:
                while moving.is_set():
                    seen.append(answer(own, "m@stable"))
        except BaseException as error:  # reported in the test's thread
            failures.append(error)

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        for move in range(60):
            versions.set_alias("m", "stable", 2 if move % 2 == 0 else 1)
    finally:
        moving.clear()
        for thread in threads:
            thread.join(timeout=30)
    assert not failures, failures[0]
    # Every answer is one of the two versions, with that version's output; both were seen.
    assert {(model, round(output, 9)) for model, output in seen} == {("m:1", 0.1), ("m:2", 0.2)}


def test_a_new_server_on_the_store_serves_the_aliases_set_before(tmp_path: Path) -> None:
    def served(action: Callable[[Client], Any]) -> Any:
        server = start_server(tmp_path / "data")
        try:
            with Client(f"127.0.0.1:{server.port}") as client:
                return action(client)
        finally:
            server.stop(0)

    def setup(client: Client) -> None:
        for bias in BIASES:
            client.import_model("m", linear_model(bias))
        client.set_alias("m", "stable", 2)

    served(setup)
    assert served(lambda client: answer(client, "m@stable")) == ("m:2", pytest.approx(0.2))
