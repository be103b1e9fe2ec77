"""Replicas behind nginx (deploy/nginx.conf): unary calls, the Train stream and PredictStream
pass through it, spread over both replicas, and a replica going away moves calls to the other."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import start_server
from nginx_support import Nginx, nginx_in_front

from gatelearn.client import Client, Progress, TrainOptions
from gatelearn.server.app import RunningServer

XOR_ROWS = [[0, 0], [0, 1], [1, 0], [1, 1]]


@pytest.fixture
def replicas(tmp_path: Path, postgres_url: str) -> Iterator[list[RunningServer]]:
    """Two servers on one PostgreSQL database."""
    running = [start_server(tmp_path / f"unused{i}", store=postgres_url) for i in range(2)]
    yield running
    for server in running:
        server.stop(0)


@pytest.fixture
def nginx(tmp_path: Path, replicas: list[RunningServer]) -> Iterator[Nginx]:
    with nginx_in_front(
        tmp_path / "nginx", [f"127.0.0.1:{server.port}" for server in replicas]
    ) as running:
        yield running


def test_calls_through_nginx_reach_both_replicas(
    nginx: Nginx, replicas: list[RunningServer]
) -> None:
    with Client(nginx.address) as client:
        events = list(
            client.train_events(
                client.train_request(
                    "xor",
                    "xor",
                    options=TrainOptions(
                        epochs=20000, stop_when_solved=False, progress_interval_ms=1
                    ),
                )
            )
        )
        assert any(isinstance(event, Progress) for event in events[:-1])  # streamed through
        trained = client.model("xor").summary.version
        for _ in range(10):  # unary calls, spread over the replicas
            assert client.predict("xor", XOR_ROWS).labels == [[0], [1], [1], [0]]
        rows = np.tile(np.array(XOR_ROWS, dtype=np.float64), (5000, 1))
        outputs, labels = client.predict_array("xor", rows, chunk_rows=4096)  # PredictStream
        assert labels.shape == (20000, 1)
        np.testing.assert_array_equal(labels[:4, 0], [0, 1, 1, 0])
    assert trained == 1
    answered = nginx.upstreams()
    assert {f"127.0.0.1:{server.port}" for server in replicas} <= set(answered), answered


def test_a_replica_going_away_moves_calls_to_the_other(
    nginx: Nginx, replicas: list[RunningServer]
) -> None:
    with Client(nginx.address) as client:
        client.train("xor", "xor", options=TrainOptions(epochs=3000))
        replicas[0].stop(0)
        for _ in range(10):  # none fails: a refused connection goes to the next replica
            assert client.predict("xor", XOR_ROWS).labels == [[0], [1], [1], [0]]
        assert [m.name for m in client.models()] == ["xor"]
    assert nginx.upstreams()[-1].endswith(f":{replicas[1].port}")
