"""A saved model can always be read back: its history is bounded (thinned evenly, the final
epoch kept), and every answer about it fits in a message."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import grpc
import pytest
from conftest import start_server

from gatelearn.client import Client, GateLearnError, TrainOptions
from gatelearn.server.app import RunningServer
from gatelearn.server.limits import Limits
from gatelearn.server.store import Store

HISTORY_LIMIT = Limits().max_history_points


def test_a_history_longer_than_the_limit_is_thinned_and_reads_back(client: Client) -> None:
    epochs = 2 * HISTORY_LIMIT + 1
    options = TrainOptions(epochs=epochs, record_every=1, stop_when_solved=False)
    outcome = client.train("long", "xor", options=options)
    detail = client.model("long")
    epochs_kept = detail.history.epochs
    assert HISTORY_LIMIT // 2 <= len(epochs_kept) <= HISTORY_LIMIT
    assert epochs_kept[0] == 0 and epochs_kept[-1] == epochs == outcome.epochs
    assert len({b - a for a, b in zip(epochs_kept[:-2], epochs_kept[1:-1])}) == 1
    assert len(detail.history.loss) == len(detail.history.accuracy) == len(epochs_kept)
    assert client.export_model("long")["layers"]


def test_model_listing_reads_only_the_summary_column(server: RunningServer,
                                                     client: Client) -> None:
    outcome = client.train("listed", "xor")
    with sqlite3.connect(server.store.path) as db:  # damage everything but the summary
        db.execute("UPDATE models SET meta = 'not json', weights = x'00', request = x'00'")
    [summary] = client.models()
    assert (summary.name, summary.task, summary.sizes) == ("listed", "xor", [2, 8, 1])
    assert summary.metrics == outcome.metrics
    with pytest.raises(GateLearnError) as caught:
        client.model("listed")
    assert caught.value.code == grpc.StatusCode.DATA_LOSS


def test_a_store_from_before_the_summary_column_still_opens_and_lists(tmp_path: Path) -> None:
    old = start_server(tmp_path / "data")
    try:
        with Client(f"127.0.0.1:{old.port}") as client:
            trained = client.train("old", "xor")
    finally:
        old.stop(0)
    with sqlite3.connect(tmp_path / "data" / Store.FILENAME) as db:
        db.execute("ALTER TABLE models DROP COLUMN summary")  # the schema as it was
    migrated = start_server(tmp_path / "data")
    try:
        with Client(f"127.0.0.1:{migrated.port}") as client:
            [summary] = client.models()
            assert (summary.task, summary.sizes, summary.metrics) == ("xor", [2, 8, 1],
                                                                      trained.metrics)
            assert client.model("old").summary == summary
            assert client.predict("old", [[0, 1]]).labels == [[1.0]]
    finally:
        migrated.stop(0)
