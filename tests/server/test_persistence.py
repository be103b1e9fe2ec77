"""What a server stores survives a restart on the same data directory."""

from __future__ import annotations

import threading
from pathlib import Path

import grpc
import pytest
from conftest import start_server
from server_test_support import LONG_RUN

from gatelearn.client import Client, GateLearnError, TrainOptions
from gatelearn.v1 import gatelearn_pb2_grpc

POINTS = [[0, 0], [0, 1], [1, 0], [1, 1], [0.25, 0.75], [3.5, -2.0], [0.1234567, 0.7654321]]


def test_models_survive_a_restart_exactly(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = start_server(data_dir)
    try:
        with Client(f"127.0.0.1:{first.port}") as client:
            client.train("xor", "xor", seed=7)
            client.train("xor", "xor", seed=8, dtype="float32")
            client.train(
                "region",
                ("region", {"points": 60, "labels": "sign"}),
                loss="mse",
                seed=3,
                options=TrainOptions(epochs=300),
            )
            client.import_model("copy", client.export_model("xor", version=1))
            before = {
                "models": client.models(),
                "versions": client.models("xor"),
                "details": [
                    client.model(n, version=v)
                    for n, v in [("xor", 1), ("xor", 2), ("region", 1), ("copy", 1)]
                ],
                "predictions": [
                    client.predict(n, POINTS, version=v)
                    for n, v in [("xor", 1), ("xor", 2), ("copy", 1)]
                ],
                "region": client.predict("region", [[1.5, 0.5], [0.5, 1.5]]),
                "evaluation": client.evaluate("region"),
                "export": client.export_model("xor", version=2),
            }
    finally:
        first.stop(0)

    second = start_server(data_dir)
    try:
        with Client(f"127.0.0.1:{second.port}") as client:
            assert client.models() == before["models"]
            assert client.models("xor") == before["versions"]
            details = [
                client.model(n, version=v)
                for n, v in [("xor", 1), ("xor", 2), ("region", 1), ("copy", 1)]
            ]
            assert details == before["details"]  # metrics, history, request, seeds, dtype
            for detail in details[:3]:
                assert detail.history.epochs and detail.request is not None
            # Exact floats, not approximately.
            assert [
                client.predict(n, POINTS, version=v)
                for n, v in [("xor", 1), ("xor", 2), ("copy", 1)]
            ] == before["predictions"]
            assert client.predict("region", [[1.5, 0.5], [0.5, 1.5]]) == before["region"]
            assert client.evaluate("region") == before["evaluation"]
            assert client.export_model("xor", version=2) == before["export"]
            # Version numbers carry on from where the first server left them.
            assert client.train("xor", "xor", options=TrainOptions(epochs=0)).model.version == 3
    finally:
        second.stop(0)


def test_deleted_versions_stay_unused_across_restarts(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    running = start_server(data_dir)
    try:
        with Client(f"127.0.0.1:{running.port}") as client:
            client.train("m", "xor", options=TrainOptions(epochs=0))
            client.train("m", "xor", options=TrainOptions(epochs=0))
            assert client.delete("m") == [1, 2]
    finally:
        running.stop(0)
    running = start_server(data_dir)
    try:
        with Client(f"127.0.0.1:{running.port}") as client:
            assert client.models() == []
            assert client.train("m", "xor", options=TrainOptions(epochs=0)).model.version == 3
    finally:
        running.stop(0)


def test_stopping_the_server_cancels_a_running_training(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    running = start_server(data_dir)
    started = threading.Event()
    result: dict[str, object] = {}

    def train() -> None:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = gatelearn_pb2_grpc.GateLearnStub(channel)
            with Client(f"127.0.0.1:{running.port}") as builder:
                request = builder.train_request("stopped", "xor", options=TrainOptions(**LONG_RUN))
            try:
                for event in stub.Train(request, timeout=30):
                    result["last"] = event
                    started.set()
            except grpc.RpcError as error:
                result["code"] = error.code()
            finally:
                started.set()

    thread = threading.Thread(target=train)
    thread.start()
    try:
        assert started.wait(10)
        assert "code" not in result, result
        running.stop(0.5)
    finally:
        thread.join(10)
    assert not thread.is_alive()
    # A run stopped by server shutdown saves nothing and ends the call with a status.
    assert result.get("code") in (grpc.StatusCode.CANCELLED, grpc.StatusCode.UNAVAILABLE), result
    assert not result["last"].HasField("done")

    again = start_server(data_dir)
    try:
        with Client(f"127.0.0.1:{again.port}") as client:
            assert client.models() == []
    finally:
        again.stop(0)


def test_a_stopped_server_refuses_calls(tmp_path: Path) -> None:
    running = start_server(tmp_path / "data")
    address = f"127.0.0.1:{running.port}"
    running.stop(0)
    with Client(address, timeout=2) as client, pytest.raises(GateLearnError) as raised:
        client.models()
    assert raised.value.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
