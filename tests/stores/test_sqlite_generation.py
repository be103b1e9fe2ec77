"""The SQLite store's change-log generation: read again only when the wal-index header moved.

Every cached Predict asks for the generation, so while nothing commits it is answered without
a statement; any commit, by this store or another process, and whatever checkpoint came
between, is seen by the next call.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from store_test_support import record

from gatelearn.server.stores.sqlite import SQLiteStore
from gatelearn.server.stores.wal_index import WalIndexHeader


def _statements(store: SQLiteStore) -> list[str]:
    """The statements the store's change-log connection runs from now on."""
    seen: list[str] = []
    store._watch.set_trace_callback(seen.append)  # noqa: SLF001  (the connection under test)
    return seen


def _commit_in_another_process(database: Path, checkpoint: str) -> None:
    """Log a change, checkpoint the WAL in `checkpoint` mode, log another: as another server
    sharing the data directory would (its own process, its own connection)."""
    script = (
        "import sqlite3, sys\n"
        "db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)\n"
        "db.execute(\"INSERT INTO changes (name) VALUES ('a')\")\n"
        "db.execute(f'PRAGMA wal_checkpoint({sys.argv[2]})').fetchone()\n"
        "db.execute(\"INSERT INTO changes (name) VALUES ('b')\")\n"
    )
    subprocess.run([sys.executable, "-c", script, str(database), checkpoint], check=True)


def test_an_unchanged_database_answers_the_generation_without_a_statement(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path)
    try:
        store.save(record("m"))
        statements = _statements(store)
        assert [store.generation() for _ in range(5)] == [1] * 5
        assert len(statements) <= 1  # the first call may read: nothing was read since the save
        store.save(record("m"))
        assert store.generation() == 2
    finally:
        store.close()


@pytest.mark.parametrize("checkpoint", ["PASSIVE", "FULL", "RESTART", "TRUNCATE"])
def test_a_commit_by_another_process_is_seen_by_the_next_read(
    tmp_path: Path, checkpoint: str
) -> None:
    store = SQLiteStore(tmp_path)
    try:
        before = store.generation()
        assert store.generation() == before  # the header is remembered now
        _commit_in_another_process(store.path, checkpoint)
        assert store.generation() == before + 2
        assert store.changes_since(before) == (before + 2, frozenset({"a", "b"}))
    finally:
        store.close()


def test_a_database_without_a_wal_index_has_no_header_to_read(tmp_path: Path) -> None:
    database = tmp_path / "plain.sqlite3"
    sqlite3.connect(database).close()  # a rollback-journal database: no -shm file
    header = WalIndexHeader(database)
    assert header.read() is None
    header.close()
