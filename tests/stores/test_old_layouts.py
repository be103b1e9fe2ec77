"""A data directory written before model metadata had a layout number (or before layout 2 added
the recipe) still opens and serves.

The rows below are byte for byte what the store wrote then (its `meta` and `summary` JSON, keys
in the order that code wrote them, and weights as `.npz`), for a trained model and an imported
one; a real server on that directory answers about them through the real client.
"""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import start_server

from gatelearn.client import Client
from gatelearn.server.stores import SQLiteStore
from gatelearn.v1 import gatelearn_pb2 as pb

XOR_IN = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
XOR_OUT = [[0.0], [1.0], [1.0], [0.0]]
W0 = np.array([[6.0, -4.0], [6.0, -4.0]])
B0 = np.array([-2.5, 6.0])
W1 = np.array([[7.0], [7.0]])
B1 = np.array([-10.0])
LAYER = '{"name": "sigmoid", "params": {}}'

TRAINED_META = (
    '{"sizes": [2, 2, 1], "activations": [' + LAYER + ", " + LAYER + '], "bias": true, '
    '"dtype": "float64", "task": {"name": "xor", "params": {}, "seed": 7}, "low": 0.0, '
    '"high": 1.0, "member_seed": 9, "population": 4, "stop_reason": "solved", "epochs": 120, '
    '"metrics": {"loss": 0.01, "accuracy": 1.0, "min_margin": 0.2, "solved": true, '
    '"solved_epoch": 118}, "history": {"epochs": [0, 60, 120], "loss": [0.3, 0.1, 0.01], '
    '"accuracy": [0.5, 0.75, 1.0]}, "solved_members": 2, "member_solved_epochs": '
    "[-1, -1, 118, 119]}"
)
TRAINED_SUMMARY = (
    '{"sizes": [2, 2, 1], "metrics": {"loss": 0.01, "accuracy": 1.0, "min_margin": 0.2, '
    '"solved": true, "solved_epoch": 118}, "task": {"name": "xor"}}'
)
IMPORTED_META = (
    '{"sizes": [2, 2, 1], "activations": [' + LAYER + ", " + LAYER + '], "bias": true, '
    '"dtype": "float32", "task": {"name": "table", "params": {"inputs": '
    + json.dumps(XOR_IN)
    + ', "outputs": '
    + json.dumps(XOR_OUT)
    + '}, "table": true, "seed": 0}, "low": 0.0, '
    '"high": 1.0, "member_seed": 0, "metrics": {"loss": 0.02, "accuracy": 1.0, '
    '"min_margin": 0.1, "solved": true, "solved_epoch": -1}}'
)
IMPORTED_SUMMARY = (
    '{"sizes": [2, 2, 1], "metrics": {"loss": 0.02, "accuracy": 1.0, "min_margin": 0.1, '
    '"solved": true, "solved_epoch": -1}, "task": {"name": "table"}}'
)
TRAIN_REQUEST = pb.TrainRequest(model_name="trained", task=pb.ComponentRef(name="xor"), seed=7)


def expected_outputs(rows: list[list[float]]) -> list[float]:
    """The oracle: both sigmoid layers computed here; one output per row."""
    hidden = 1 / (1 + np.exp(-(np.array(rows) @ W0 + B0)))
    return (1 / (1 + np.exp(-(hidden @ W1 + B1)))).ravel().tolist()


@pytest.fixture
def old_client(tmp_path: Path) -> Iterator[Client]:
    """A client of a server on a data directory holding the two rows as they were written."""
    data_dir = tmp_path / "data"
    SQLiteStore(data_dir).close()  # the tables, as that store created them
    buffer = io.BytesIO()  # the weights as the store wrote them then: numpy.savez
    np.savez(buffer, w0=W0, w1=W1, b0=B0, b1=B1)
    blob = buffer.getvalue()
    with sqlite3.connect(data_dir / SQLiteStore.FILENAME) as db:
        db.executemany(
            "INSERT INTO names (name, last_version) VALUES (?, 1)",
            [("trained",), ("imported",), ("layout1",)],
        )
        db.executemany(
            "INSERT INTO models (name, version, created_at, meta, request, weights, summary) "
            "VALUES (?, 1, 1790000000.5, ?, ?, ?, ?)",
            [
                ("trained", TRAINED_META, TRAIN_REQUEST.SerializeToString(), blob, TRAINED_SUMMARY),
                ("layout1", '{"layout": 1, ' + TRAINED_META[1:], None, blob, TRAINED_SUMMARY),
                ("imported", IMPORTED_META, None, blob, IMPORTED_SUMMARY),
            ],
        )
    db.close()
    running = start_server(data_dir)
    try:
        with Client(f"127.0.0.1:{running.port}") as client:
            yield client
    finally:
        running.stop(0)


def test_an_old_trained_row_is_described_and_serves(old_client: Client) -> None:
    detail = old_client.model("trained")
    assert (detail.summary.task, detail.summary.sizes) == ("xor", [2, 2, 1])
    assert (detail.summary.metrics.loss, detail.summary.metrics.solved_epoch) == (0.01, 118)
    assert (detail.activations, detail.bias, detail.dtype) == (["sigmoid"] * 2, True, "float64")
    assert detail.member_seed == 9
    assert (detail.history.epochs, detail.history.loss) == ([0, 60, 120], [0.3, 0.1, 0.01])
    assert detail.request is not None and detail.request["modelName"] == "trained"
    assert (detail.recipe, detail.loss) == (None, None)  # recorded only since layout 2
    predicted = old_client.predict("trained", XOR_IN)
    assert np.ravel(predicted.outputs).tolist() == pytest.approx(
        expected_outputs(XOR_IN), abs=1e-12
    )
    assert predicted.labels == XOR_OUT
    assert old_client.evaluate("trained").accuracy == 1.0  # its own task, rebuilt with seed 7


def test_an_old_imported_row_is_described_serves_and_exports(old_client: Client) -> None:
    detail = old_client.model("imported")
    assert (detail.summary.task, detail.dtype, detail.member_seed) == ("table", "float32", 0)
    assert (detail.history.epochs, detail.request) == ([], None)  # nothing trained it here
    predicted = old_client.predict("imported", XOR_IN)
    assert np.ravel(predicted.outputs).tolist() == pytest.approx(expected_outputs(XOR_IN), rel=1e-6)
    assert old_client.evaluate("imported").accuracy == 1.0  # on the table it recorded
    exported = old_client.export_model("imported")
    assert exported["table"]["outputs"] == [{"values": row} for row in XOR_OUT]
    assert old_client.import_model("again", exported).version == 1


def test_old_rows_list_with_their_summaries(old_client: Client) -> None:
    listed = {(m.name, m.task, m.metrics.loss) for m in old_client.models()}
    assert listed == {
        ("trained", "xor", 0.01),
        ("imported", "table", 0.02),
        ("layout1", "xor", 0.01),
    }


def test_a_layout_1_row_reads_without_a_recipe_and_exports(old_client: Client) -> None:
    detail = old_client.model("layout1")
    assert (detail.recipe, detail.loss, detail.member_seed) == (None, None, 9)
    exported = old_client.export_model("layout1")
    assert "recipe" not in exported and "loss" not in exported
    assert exported["history"]["epochs"] == [0, 60, 120]
