"""The SQLite data directory failing under a running server, or before it starts: a full disk,
a database file deleted or damaged. Each call answers a status that says what happened and what
to do (never INTERNAL, UNKNOWN, or an UNAVAILABLE that no retry mends), and nothing the server
acknowledges is written where no later server will find it."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from conftest import start_server
from server_test_support import expect_error

from gatelearn.client import Client
from gatelearn.server.app import RunningServer


@contextlib.contextmanager
def serving(data_dir: Path) -> Iterator[Client]:
    """A server storing in `data_dir`, and a client that never retries."""
    running: RunningServer = start_server(data_dir)
    try:
        with Client(f"127.0.0.1:{running.port}", retries=0) as client:
            yield client
    finally:
        running.stop(0)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A file system of 8 MiB of its own (tmpfs), so that the test can fill it."""
    mounted = tmp_path / "disk"
    mounted.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mounted)], capture_output=True
    )
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")
    try:
        yield mounted
    finally:
        subprocess.run(["umount", "-l", str(mounted)], check=True)


@contextlib.contextmanager
def read_only(directory: Path) -> Iterator[None]:
    """`directory` mounted read-only over itself (a bind mount), as a read-only disk is."""
    done = subprocess.run(["mount", "--bind", str(directory), str(directory)], capture_output=True)
    if done.returncode:
        pytest.skip(f"cannot bind-mount here (needs root): {done.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(directory)], check=True)
        yield
    finally:
        subprocess.run(["umount", str(directory)], check=True)


def square_model(units: int) -> dict[str, object]:
    """An importable 2-layer model whose second layer holds units x units weights."""
    return {
        "layers": [
            {
                "weights": {"shape": [2, units], "values": [0.5] * (2 * units)},
                "activation": {"name": "tanh"},
            },
            {
                "weights": {"shape": [units, units], "values": [0.25] * (units * units)},
                "activation": {"name": "sigmoid"},
            },
        ],
        "data": {
            "inputs": [{"values": [0, 0]}, {"values": [1, 1]}],
            "targets": [{"values": [0] * units}, {"values": [1] * units}],
        },
        "low": 0,
        "high": 1,
    }


def test_a_save_on_a_full_disk_is_resource_exhausted_and_works_once_there_is_room(
    small_disk: Path,
) -> None:
    data_dir = small_disk / "data"
    with serving(data_dir) as client:
        client.import_model("small", square_model(2))
        filler = small_disk / "filler"
        with open(filler, "wb") as file:  # everything but 128 KiB
            file.write(b"\0" * (shutil.disk_usage(small_disk).free - 128 * 1024))
        big = square_model(400)  # 1.3 MB of weights
        details = expect_error(grpc.StatusCode.RESOURCE_EXHAUSTED, client.import_model, "big", big)
        assert f"the model store {data_dir / 'models.sqlite3'} has no room" in details
        assert "free space on its disk and retry" in details
        assert [model.name for model in client.models()] == ["small"]
        assert client.predict("small", [[0, 1]]).model.version == 1
        filler.unlink()
        assert client.import_model("big", big).version == 1


def test_a_deleted_data_directory_refuses_writes_and_keeps_answering_reads(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    with serving(data_dir) as client:
        client.train("m", "xor", epochs=5)
        shutil.rmtree(data_dir)
        for write, args in (
            (client.train, ("n", "xor")),
            (client.delete, ("m",)),
            (client.set_alias, ("m", "prod", 1)),
        ):
            details = expect_error(grpc.StatusCode.FAILED_PRECONDITION, write, *args)
            assert "was removed or replaced while this server had it open" in details
            assert "restart the server" in details
        assert client.predict("m", [[0, 1]]).model.version == 1
        assert [model.name for model in client.models()] == ["m"]


def test_stored_text_that_is_not_utf8_answers_data_loss(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with serving(data_dir) as client:
        client.train("m", "xor", epochs=5)
        with contextlib.closing(sqlite3.connect(data_dir / "models.sqlite3")) as db, db:
            db.execute("UPDATE models SET meta = CAST(X'7bff' AS TEXT), summary = meta")
        for read, args in ((client.model, ("m",)), (client.predict, ("m", [[0, 1]]))):
            details = expect_error(grpc.StatusCode.DATA_LOSS, read, *args)
            assert "models.sqlite3 is damaged (a text column is not UTF-8)" in details
            assert "restore the file from a backup" in details
        assert client.train("n", "xor", epochs=5).model.version == 1


def test_a_damaged_database_file_stops_start_up_in_one_line_naming_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with serving(data_dir) as client:
        client.train("m", "xor", epochs=5)
    database = data_dir / "models.sqlite3"
    os.truncate(database, 3 * 4096)  # its tables' pages cut away, the schema's first page kept
    done = subprocess.run(
        [sys.executable, "-m", "gatelearn.client.cli", "serve", "--address", "127.0.0.1:0"]
        + ["--data-dir", str(data_dir), "--no-realtime"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr == (
        f"gatelearn: error: cannot start the server: the model store {database} is damaged "
        "(database disk image is malformed): stop the server and restore the file from a "
        "backup\n"
    )


def test_a_read_only_data_directory_stops_start_up_naming_the_file(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with serving(data_dir) as client:
        client.train("m", "xor", epochs=5)
    with read_only(data_dir), pytest.raises(OSError) as refused:
        start_server(data_dir)
    assert str(refused.value) == (
        f"[Errno 30] cannot make {data_dir / 'models.sqlite3'} private: Read-only file system"
    )
