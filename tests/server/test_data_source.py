"""A task given as rows of real-valued inputs with 0/1 or -1/+1 labels (TrainRequest.data):
through the client with NumPy arrays, a raw stub and the command line; stored as the model's
task, so Evaluate, Export and Import use it; bad data refused by name, changing nothing."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest
from conftest import start_server
from server_test_support import expect_error, store_snapshot

from gatelearn.client import Client, TrainOptions
from gatelearn.server import Limits
from gatelearn.v1 import gatelearn_pb2 as pb
from gatelearn.v1 import gatelearn_pb2_grpc

INVALID = grpc.StatusCode.INVALID_ARGUMENT
NO_EPOCHS = TrainOptions(epochs=0)


def separable(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points on both sides of the line x1 + 2 x2 = 0.3, at least 0.1 away from it."""
    rng = np.random.default_rng(seed)
    points = rng.normal(size=(rows * 2, 2)) * 3
    side = points[:, 0] + 2 * points[:, 1] - 0.3
    keep = np.abs(side) > 0.1
    return points[keep][:rows], (side[keep][:rows] > 0).astype(float)


@pytest.fixture
def stub(address: str) -> Iterator[gatelearn_pb2_grpc.GateLearnStub]:
    with grpc.insecure_channel(address) as channel:
        yield gatelearn_pb2_grpc.GateLearnStub(channel)


def test_numpy_rows_train_a_model_that_records_them_as_its_task(client: Client) -> None:
    inputs, labels = separable(100)
    outcome = client.train(
        "points", data=(inputs, labels), hidden=[4], options=TrainOptions(epochs=2000)
    )
    assert outcome.metrics.accuracy >= 0.95
    assert client.model("points").summary.task == "data"
    evaluated = client.evaluate("points")
    assert [row.inputs for row in evaluated.rows] == inputs.tolist()
    assert [row.targets for row in evaluated.rows] == [[label] for label in labels]
    assert evaluated.accuracy == pytest.approx(outcome.metrics.accuracy)
    predicted = client.predict("points", inputs[:5].tolist()).labels
    assert predicted == [[label] for label in labels[:5]]


def test_export_carries_the_rows_and_an_import_measures_the_same(client: Client) -> None:
    inputs, labels = separable(30, seed=1)
    client.train(
        "points",
        data=(inputs.tolist(), labels.tolist()),
        hidden=[3],
        options=TrainOptions(epochs=500),
    )
    exported = client.export_model("points")
    assert exported["data"]["inputs"][0]["values"] == inputs[0].tolist()
    assert "task" not in exported and "table" not in exported
    client.import_model("copy", exported)
    imported, trained = (client.model(name).summary.metrics for name in ("copy", "points"))
    assert (imported.accuracy, imported.min_margin) == (trained.accuracy, trained.min_margin)
    again = client.export_model("copy")
    assert again["data"] == exported["data"]


def test_sign_labels_make_a_minus_one_plus_one_model(client: Client) -> None:
    inputs, labels = separable(40, seed=2)
    client.train(
        "signed",
        data=(inputs, 2 * labels - 1),
        loss="mse",
        activations=["tanh", "tanh"],
        options=TrainOptions(epochs=1500),
    )
    exported = client.export_model("signed")
    assert (exported["low"], exported["high"]) == (-1, 1)
    evaluated = client.evaluate("signed")
    assert {row.targets[0] for row in evaluated.rows} == {-1.0, 1.0}
    assert evaluated.accuracy >= 0.95
    assert set(np.ravel(client.predict("signed", inputs.tolist()).labels)) == {-1.0, 1.0}


def test_a_raw_stub_trains_on_data_rows(stub: gatelearn_pb2_grpc.GateLearnStub) -> None:
    data = pb.DataRows(
        inputs=[pb.Row(values=[-2.5, 0.1]), pb.Row(values=[3.25, -0.2])],
        targets=[pb.Row(values=[0]), pb.Row(values=[1])],
    )
    events = list(stub.Train(pb.TrainRequest(model_name="raw", data=data)))
    done = events[-1].done
    assert done.model.name == "raw" and done.metrics.solved
    detail = stub.GetModel(pb.GetModelRequest(name="raw"))
    assert detail.request.data == data


def test_the_command_line_trains_on_a_csv_file_with_a_header(address: str, tmp_path: Path) -> None:
    inputs, labels = separable(20, seed=3)
    lines = [
        "x1,x2,label",
        *(f"{a},{b},{int(y)}" for (a, b), y in zip(inputs, labels, strict=True)),
    ]
    (tmp_path / "points.csv").write_text("\n".join(lines) + "\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gatelearn.client.cli",
            "--address",
            address,
            "train",
            "--data",
            str(tmp_path / "points.csv"),
            "--name",
            "csv",
            "--epochs",
            "1000",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("saved csv:1 ")
    with Client(address) as client:
        evaluated = client.evaluate("csv")
    assert [row.inputs for row in evaluated.rows] == inputs.tolist()


NAN = float("nan")
BAD_DATA = {
    "nan input": (([[0.5, NAN], [1, 2]], [[0], [1]]), "data.inputs", "row 0"),
    "infinite input": (([[0.5, 1], [1, float("inf")]], [[0], [1]]), "data.inputs", "row 1"),
    "ragged inputs": (([[0.5, 1], [1]], [[0], [1]]), "data.inputs", "row 1 has 1 values"),
    "ragged targets": (([[0.5], [1]], [[0], [1, 1]]), "data.targets", "row 1 has 2 values"),
    "mixed label pairs": (
        ([[0.5], [1], [2]], [[0], [1], [-1]]),
        "data.targets",
        "must all be 0/1 or all -1/+1, got the values -1, 0, 1",
    ),
    "label two": (([[0.5], [1]], [[0], [2]]), "data.targets", "got the values 0, 2"),
    "fewer targets": (([[0.5], [1]], [[0]]), "data.targets", "one row per input row (2)"),
    "no rows": (([], []), "data.inputs", "non-empty"),
}


@pytest.mark.parametrize("case", list(BAD_DATA))
def test_bad_data_is_invalid_argument_naming_the_field(client: Client, case: str) -> None:
    client.train("kept", "xor", options=NO_EPOCHS)
    before = store_snapshot(client)
    data, field, words = BAD_DATA[case]
    details = expect_error(INVALID, client.train, "bad", data=data, options=NO_EPOCHS)
    assert details.startswith(f"{field}: "), details
    assert words in details, details
    assert store_snapshot(client) == before


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    running = start_server(
        tmp_path_factory.mktemp("limited") / "data",
        limits=Limits(max_task_rows=64, max_arity=3, max_units=4),
    )
    with Client(f"127.0.0.1:{running.port}") as client:
        client.train("kept", "xor", hidden=[2], options=NO_EPOCHS)
        yield client
    running.stop(0)


@pytest.mark.parametrize(
    ("inputs", "targets", "field", "limit"),
    [
        ([[0.5]] * 65, [[1]] * 65, "data.inputs", "at most 64 rows (limit max_task_rows), got 65"),
        ([[0.5]] * 64, [[1]] * 65, "data.targets", "at most 64 rows (limit max_task_rows), got 65"),
        (
            [[0.5]] * 200_000,
            [[1]] * 200_000,
            "data.inputs",
            "at most 64 rows (limit max_task_rows), got 200000",
        ),
        ([[0.5] * 4], [[1]], "data.inputs", "at most 3 values a row (limit max_arity), got 4"),
        ([[0.5]], [[1] * 5], "data.targets", "at most 4 values a row (limit max_units), got 5"),
    ],
    ids=["one row past", "one target row past", "absurd rows", "arity", "outputs"],
)
def test_data_over_a_limit_is_refused_naming_field_and_limit(
    limited: Client, inputs: list[list[float]], targets: list[list[float]], field: str, limit: str
) -> None:
    before = store_snapshot(limited)
    details = expect_error(
        INVALID, limited.train, "big", data=(inputs, targets), hidden=[2], options=NO_EPOCHS
    )
    assert details == f"{field}: {limit}"
    assert store_snapshot(limited) == before


def test_data_at_the_row_limit_is_accepted(limited: Client) -> None:
    inputs, labels = separable(64, seed=4)
    outcome = limited.train("edge", data=(inputs, labels), hidden=[2], options=NO_EPOCHS)
    assert outcome.model.name == "edge"
