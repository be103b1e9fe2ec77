"""A saved model can always be read back: its history is bounded (thinned evenly, the final
epoch kept), and every answer about it fits in a message."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from conftest import start_server, wide_output_model

from gatelearn.client import Client, GateLearnError, TrainOptions
from gatelearn.server.app import RunningServer
from gatelearn.server.limits import Limits
from gatelearn.server.stores import SQLiteStore
from gatelearn.server.stores.meta import LAYOUT

HISTORY_LIMIT = Limits().max_history_points


def test_a_history_longer_than_the_limit_is_thinned_and_reads_back(client: Client) -> None:
    epochs = 2 * HISTORY_LIMIT + 1
    options = TrainOptions(epochs=epochs, record_every=1, stop_when_solved=False)
    outcome = client.train("long", "xor", options=options)
    detail = client.model("long")
    epochs_kept = detail.history.epochs
    assert HISTORY_LIMIT // 2 <= len(epochs_kept) <= HISTORY_LIMIT
    assert epochs_kept[0] == 0 and epochs_kept[-1] == epochs == outcome.epochs
    assert len({b - a for a, b in zip(epochs_kept[:-2], epochs_kept[1:-1], strict=True)}) == 1
    assert len(detail.history.loss) == len(detail.history.accuracy) == len(epochs_kept)
    assert client.export_model("long")["layers"]


def test_model_listing_reads_only_the_summary_column(server: RunningServer, client: Client) -> None:
    outcome = client.train("listed", "xor")
    with sqlite3.connect(server.store.path) as db:  # damage everything but the summary
        db.execute("UPDATE models SET meta = 'not json', weights = x'00', request = x'00'")
    [summary] = client.models()
    assert (summary.name, summary.task, summary.sizes) == ("listed", "xor", [2, 8, 1])
    assert summary.metrics == outcome.metrics
    with pytest.raises(GateLearnError) as caught:
        client.model("listed")
    assert caught.value.code == grpc.StatusCode.DATA_LOSS


@pytest.mark.parametrize("column", ["meta", "weights"])
def test_a_row_nested_deeper_than_json_parses_is_data_loss(
    server: RunningServer, client: Client, column: str
) -> None:
    """JSON nested 100,000 deep raised RecursionError in the parser, answered UNKNOWN."""
    client.train("deep", "xor")
    nested = "[" * 100_000 + "]" * 100_000
    value = (
        nested if column == "meta" else b"GLA1" + len(nested).to_bytes(4, "big") + nested.encode()
    )
    with sqlite3.connect(server.store.path) as db:
        db.execute(f"UPDATE models SET {column} = ?", (value,))
    for read in (client.model, client.export_model):
        with pytest.raises(GateLearnError) as caught:
            read("deep")
        assert caught.value.code == grpc.StatusCode.DATA_LOSS, caught.value.details


def test_a_model_stored_by_a_newer_gatelearn_asks_for_an_upgrade(
    server: RunningServer, client: Client
) -> None:
    """A replica not yet upgraded, sharing the database with one that is, read a newer layout
    as a damaged row (DATA_LOSS); it is a precondition this server does not meet."""
    client.train("newer", "xor")
    with sqlite3.connect(server.store.path) as db:
        [meta] = db.execute("SELECT meta FROM models").fetchone()
        newer = json.dumps({**json.loads(meta), "layout": LAYOUT + 1})
        db.execute("UPDATE models SET meta = ?", (newer,))
    for read in (client.model, client.export_model, lambda name: client.predict(name, [[0, 1]])):
        with pytest.raises(GateLearnError) as caught:
            read("newer")
        assert caught.value.code == grpc.StatusCode.FAILED_PRECONDITION, caught.value.details
        assert f"metadata layout {LAYOUT + 1}" in caught.value.details
        assert "upgrade this server" in caught.value.details


def test_a_store_from_before_the_summary_column_still_opens_and_lists(tmp_path: Path) -> None:
    old = start_server(tmp_path / "data")
    try:
        with Client(f"127.0.0.1:{old.port}") as client:
            trained = client.train("old", "xor")
    finally:
        old.stop(0)
    with sqlite3.connect(tmp_path / "data" / SQLiteStore.FILENAME) as db:
        db.execute("ALTER TABLE models DROP COLUMN summary")  # the schema as it was
    migrated = start_server(tmp_path / "data")
    try:
        with Client(f"127.0.0.1:{migrated.port}") as client:
            [summary] = client.models()
            assert (summary.task, summary.sizes, summary.metrics) == (
                "xor",
                [2, 8, 1],
                trained.metrics,
            )
            assert client.model("old").summary == summary
            assert client.predict("old", [[0, 1]]).labels == [[1.0]]
    finally:
        migrated.stop(0)


def table_model(inputs: int, outputs: int) -> dict[str, Any]:
    """An importable one-layer model of a full `inputs`-bit truth table (all-zero weights)."""
    rows = [[(number >> shift) & 1 for shift in range(inputs)] for number in range(2**inputs)]
    return {
        "layers": [
            {
                "weights": {"shape": [inputs, outputs], "values": [0.0] * (inputs * outputs)},
                "activation": {"name": "sigmoid"},
            }
        ],
        "table": {
            "inputs": [{"values": row} for row in rows],
            "outputs": [{"values": row[:outputs]} for row in rows],
        },
    }


def test_the_model_cache_stays_under_its_byte_limit(tmp_path: Path) -> None:
    limit = 2 * 2**20
    running = start_server(tmp_path / "data", limits=Limits(cached_bytes=limit))
    try:
        with Client(f"127.0.0.1:{running.port}") as client:
            model = table_model(10, 1)
            for index in range(8):
                client.import_model(f"table{index}", model)
                assert client.predict(f"table{index}", [[0] * 10]).outputs == [[0.5]]
            cache = running.service.models.cache
            assert 0 < len(cache) < 8  # some were kept, not all of them fit
            assert 0 < cache.bytes <= limit
            first = client.predict("table0", [[1] * 10])  # evicted, loaded again
            assert first.outputs == [[0.5]] and cache.bytes <= limit
    finally:
        running.stop(0)


def test_a_table_model_whose_evaluation_could_not_be_answered_is_refused_at_import(
    client: Client,
) -> None:
    with pytest.raises(GateLearnError) as caught:
        client.import_model("wide", table_model(16, 8))
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "Evaluate" in caught.value.details and "max_message_bytes" in caught.value.details
    client.import_model("largest", table_model(16, 1))
    evaluation = client.evaluate("largest")
    assert len(evaluation.rows) == 2**16
    assert client.models() == [client.model("largest").summary]


def test_a_training_whose_export_could_not_be_answered_is_refused_before_it_runs(
    client: Client,
) -> None:
    with pytest.raises(GateLearnError) as caught:
        client.train("huge", "xor", hidden=[1024] * 5)
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details.startswith("hidden.units: ")
    assert "ExportModel" in caught.value.details and "max_message_bytes" in caught.value.details
    client.train("big", "xor", hidden=[1024, 1024], options=TrainOptions(epochs=1))
    exported = client.export_model("big")
    assert [layer["weights"]["shape"] for layer in exported["layers"]] == [
        [2, 1024],
        [1024, 1024],
        [1024, 1],
    ]
    # Adam's state would triple the answer past max_message_bytes: the export leaves it out.
    assert "trainingState" not in exported
    assert client.model("big").summary.sizes == [2, 1024, 1024, 1]


def test_a_training_on_inline_rows_is_refused_when_its_model_could_not_be_read_back(
    tmp_path: Path,
) -> None:
    # The recipe holds the rows again as Struct values, larger than the request's packed rows:
    # 2900 rows made GetModel and ExportModel answers over the limit, and were trained.
    running = start_server(tmp_path / "data", limits=Limits(max_message_bytes=1 << 20))
    rng = np.random.default_rng(0)
    try:
        with Client(f"127.0.0.1:{running.port}") as client:
            data = (rng.normal(size=(2900, 16)), rng.integers(0, 2, size=(2900, 4)))
            with pytest.raises(GateLearnError) as caught:
                client.train("rows", data=data, hidden=[2], options=TrainOptions(epochs=1))
            assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
            assert caught.value.details.startswith("data: the model's ExportModel answer")
            assert "max_message_bytes" in caught.value.details
            assert client.models() == []
            data = (rng.normal(size=(2200, 16)), rng.integers(0, 2, size=(2200, 4)))
            client.train("rows", data=data, hidden=[2], options=TrainOptions(epochs=1))
            assert len(client.model("rows").request["data"]["inputs"]) == 2200
            assert len(client.export_model("rows")["data"]["inputs"]) == 2200
    finally:
        running.stop(0)


def test_rows_whose_answer_could_not_be_sent_are_refused_before_any_pass(tmp_path: Path) -> None:
    # Rows x outputs size the answer, not the request: a 16-to-1024 model's 30,000-row Predict
    # (a 4 MB request) built a 492 MB answer (the server's peak grew 1.4 GB), which gRPC then
    # refused to send, RESOURCE_EXHAUSTED.
    running = start_server(tmp_path / "data", limits=Limits(max_message_bytes=1 << 20))
    rows = np.zeros((600, 2))
    try:
        with Client(f"127.0.0.1:{running.port}") as client:
            client.import_model("wide", wide_output_model(256))
            # Requests within the limit: 300 rows, or 600 packed, whose answers are not.
            for call in (
                lambda: client.predict("wide", rows[:300].tolist()),
                lambda: client.evaluate("wide", table=(rows[:300], np.zeros((300, 256)))),
                lambda: client.predict_array("wide", rows, chunk_rows=600),
            ):
                with pytest.raises(GateLearnError) as caught:
                    call()
                assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
                assert "answer would take up to" in caught.value.details
                assert "(limit max_message_bytes)" in caught.value.details
            assert len(client.predict("wide", rows[:200].tolist()).outputs) == 200
            outputs, _ = client.predict_array("wide", rows.astype(np.float32))  # half the bytes
            assert outputs.shape == (600, 256)
    finally:
        running.stop(0)
