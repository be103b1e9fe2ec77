"""Train and ImportModel requests carry a request id: a new one for each call unless given.

These check the requests the client builds; what a server does with an id is tested through
real servers (tests/server/test_rpcs.py, tests/replicas/test_two_replicas.py)."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from gatelearn.client import Client, GateLearnError


@pytest.fixture
def offline_client() -> Iterator[Client]:
    """A client that never connects: building requests needs no server."""
    with Client("127.0.0.1:1") as client:
        yield client


def test_each_train_request_gets_a_new_random_id(offline_client: Client) -> None:
    first = offline_client.train_request("m", "xor").request_id
    second = offline_client.train_request("m", "xor").request_id
    assert len(first) == 32 and int(first, 16) >= 0
    assert first != second


def test_a_given_request_id_is_kept(offline_client: Client) -> None:
    request = offline_client.train_request("m", "xor", request_id="sweep-7:run.3_a")
    assert request.request_id == "sweep-7:run.3_a"


@pytest.mark.parametrize("bad", ["", "has space", "slash/", "x" * 129, "é"])
def test_a_request_id_the_server_would_refuse_is_refused_before_sending(
    offline_client: Client, bad: str
) -> None:
    for build in (
        lambda: offline_client.train_request("m", "xor", request_id=bad),
        lambda: offline_client.import_model("m", {}, request_id=bad),
    ):
        with pytest.raises(GateLearnError) as failure:
            build()
        assert failure.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert failure.value.details.startswith("request_id: ")
        assert "128 characters" in failure.value.details
