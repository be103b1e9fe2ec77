"""Choosing the store: no URL keeps SQLite in the data directory, `sqlite:///DIR` names one,
`postgresql://...` shares one database; a bad URL stops start-up saying what is accepted."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import start_server

from gatelearn.client import Client, TrainOptions
from gatelearn.server import ServerConfig
from gatelearn.server.app import create_server
from gatelearn.server.stores import PostgresStore, SQLiteStore
from gatelearn.server.stores.location import redacted


def _train_and_predict(port: int) -> list[list[float]]:
    with Client(f"127.0.0.1:{port}") as client:
        client.train("m", "xor", options=TrainOptions(epochs=300))
        return client.predict("m", [[0, 1]]).labels


def test_a_sqlite_url_names_the_data_directory(tmp_path: Path) -> None:
    running = create_server(
        ServerConfig(
            address="127.0.0.1:0", store=f"sqlite://{tmp_path}/d", data_dir=tmp_path / "unused"
        )
    )
    try:
        assert isinstance(running.store, SQLiteStore)
        _train_and_predict(running.port)
    finally:
        running.stop(0)
    assert (tmp_path / "d" / SQLiteStore.FILENAME).is_file()
    assert not (tmp_path / "unused").exists()


def test_a_postgresql_url_stores_there(tmp_path: Path, postgres_url: str) -> None:
    running = start_server(tmp_path / "unused", store=postgres_url)
    try:
        assert isinstance(running.store, PostgresStore)
        _train_and_predict(running.port)
    finally:
        running.stop(0)
    again = start_server(tmp_path / "unused", store=postgres_url)  # another server, same data
    try:
        with Client(f"127.0.0.1:{again.port}") as client:
            assert [m.name for m in client.models()] == ["m"]
    finally:
        again.stop(0)
    assert not (tmp_path / "unused").exists()


@pytest.mark.parametrize("url", ["mysql://db/models", "sqlite://", "models.sqlite3"])
def test_a_store_url_it_cannot_use_is_refused_by_name(tmp_path: Path, url: str) -> None:
    with pytest.raises(ValueError, match="store URL"):
        start_server(tmp_path / "data", store=url)


def test_a_password_is_never_shown() -> None:
    shown = redacted("postgresql://me:s3cret@db:5432/models")
    assert shown == "postgresql://me:***@db:5432/models"
    assert redacted("postgresql://db/models") == "postgresql://db/models"


def _serve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gatelearn.client.cli", "serve", "--address", "127.0.0.1:0", *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env=env,
    )


def test_the_command_line_refuses_a_bad_store_url_from_the_environment(tmp_path: Path) -> None:
    env = {**os.environ, "GATELEARN_STORE": "postgresql://me:s3cret@/nowhere?host=/nonexistent"}
    result = _serve(env=env)
    assert result.returncode != 0
    assert "cannot start the server" in result.stderr
    assert "s3cret" not in result.stderr + result.stdout


def test_store_and_data_dir_are_one_or_the_other(tmp_path: Path) -> None:
    result = _serve("--store", f"sqlite://{tmp_path}/a", "--data-dir", str(tmp_path / "b"))
    assert result.returncode == 2
    assert "--store or --data-dir" in result.stderr


def test_a_database_nobody_listens_for_stops_start_up_at_once_in_one_line() -> None:
    with socket.socket() as bound:  # bound but never listening: connections are refused
        bound.bind(("127.0.0.1", 0))
        port = bound.getsockname()[1]
        started = time.monotonic()
        result = _serve("--store", f"postgresql://me:s3cret@127.0.0.1:{port}/models")
        took = time.monotonic() - started
    assert result.returncode == 1
    assert result.stderr.startswith(
        "gatelearn: error: cannot start the server: cannot reach PostgreSQL at "
        f"postgresql://me:***@127.0.0.1:{port}/models: connection failed: "
    )
    assert "Connection refused" in result.stderr
    assert result.stderr.count("\n") == 1
    assert "s3cret" not in result.stderr + result.stdout
    assert took < 30.0, f"start-up took {took:.1f}s to give up"
