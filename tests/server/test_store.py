"""The model store on disk: a private directory, a sound SQLite file, weights without pickle."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path

import numpy as np
from conftest import start_server

from gatelearn.client import Client, TrainOptions
from gatelearn.server.stores import ModelMeta
from gatelearn.server.stores.arrays import MAGIC, decode_arrays


def _database(data_dir: Path) -> Path:
    files = sorted(data_dir.glob("*.sqlite3")) or sorted(
        p for p in data_dir.iterdir() if p.is_file() and p.suffix in (".db", ".sqlite")
    )
    assert files, f"no database in {sorted(data_dir.iterdir())}"
    return files[0]


def test_data_dir_is_created_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "not" / "yet" / "there"
    running = start_server(data_dir)
    try:
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    finally:
        running.stop(0)


def test_database_integrity_after_trainings(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    running = start_server(data_dir)
    try:
        with Client(f"127.0.0.1:{running.port}") as client:
            for seed in range(3):
                client.train("m", "xor", seed=seed, options=TrainOptions(epochs=20))
            client.train("p", "xor", population=8, options=TrainOptions(epochs=20))
            client.import_model("copy", client.export_model("m"))
            client.delete("m", version=2)
            # Readable and sound while the server has it open.
            with sqlite3.connect(f"file:{_database(data_dir)}?mode=ro", uri=True) as db:
                assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        running.stop(0)
    with sqlite3.connect(_database(data_dir)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []


def _blobs(db_path: Path) -> list[bytes]:
    """Every BLOB value in every table (the weights are among them, however stored)."""
    found = []
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
        tables = [
            row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        for table in tables:
            columns = [row[1] for row in db.execute(f'PRAGMA table_info("{table}")')]
            for column in columns:
                found += [
                    value
                    for (value,) in db.execute(
                        f'SELECT "{column}" FROM "{table}" WHERE typeof("{column}") = \'blob\''
                    )
                ]
    return found


def test_weights_load_without_pickle(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    running = start_server(data_dir)
    try:
        with Client(f"127.0.0.1:{running.port}") as client:
            client.train("w", "xor", hidden=[3], seed=2)
            exported = client.export_model("w")
    finally:
        running.stop(0)
    expected = []
    for layer in exported["layers"]:
        expected.append(np.asarray(layer["weights"]["values"]).reshape(layer["weights"]["shape"]))
        expected.append(np.asarray(layer["bias"]["values"]))
    archives = [
        decode_arrays(blob)
        for blob in _blobs(_database(data_dir))
        if blob.startswith(MAGIC)  # the weight blob; the request blob is not one
    ]
    assert len(archives) == 1
    (arrays,) = archives
    for array in arrays.values():
        assert array.dtype.kind in "fiu"  # plain numbers, never objects
    # Beside the weights (w0, b0, ...): Adam's state, one array per weight or bias array.
    assert {key for key in arrays if key.startswith("opt")} == {
        "opt_steps",
        *(f"opt/{name}/{index}" for name in "mv" for index in range(4)),
    }
    weights = [array for key, array in arrays.items() if not key.startswith("opt")]
    assert all(array.dtype == np.float64 for array in weights)
    stored = sorted(weights, key=lambda a: (a.shape, a.ravel().tolist()))
    wanted = sorted(expected, key=lambda a: (a.shape, a.ravel().tolist()))
    assert len(stored) == len(wanted)
    for got, want in zip(stored, wanted, strict=True):
        np.testing.assert_array_equal(got, want)


def test_metadata_is_plain_json(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    running = start_server(data_dir)
    try:
        with Client(f"127.0.0.1:{running.port}") as client:
            client.train("j", "xor")
    finally:
        running.stop(0)
    with sqlite3.connect(_database(data_dir)) as db:
        (meta,) = db.execute("SELECT meta FROM models WHERE name = 'j'").fetchone()
    parsed = json.loads(meta)
    assert parsed["sizes"] == [2, 8, 1]
    # The text the worker sent is stored as it is: the one encoding of that metadata.
    assert meta == ModelMeta.from_json(parsed).to_text()
