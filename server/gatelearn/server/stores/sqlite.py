"""The embedded model store: SQLite in the data directory, one row per model version.

A version is written in one transaction, weights included, so it is visible completely or not
at all; with WAL and synchronous=FULL a committed version survives a crash. Version numbers of a
name only ever increase, even after deletes, so "name:3" always means the same model. Several
servers may share one data directory: every write is logged in the `changes` table (see
`changes`), which each reads on a connection of its own, so the check never waits for a write.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from gatelearn.server.paths import make_private_dir, make_private_file
from gatelearn.server.stores.base import REQUEST_RETENTION, Store
from gatelearn.server.stores.changes import CHANGES_KEPT, Changes, changes_after
from gatelearn.server.stores.errors import (
    AliasInUseError,
    AliasNotFoundError,
    ModelNotFoundError,
    RequestSavedError,
    StoreFullError,
    StoreMovedError,
)
from gatelearn.server.stores.meta import ModelMeta
from gatelearn.server.stores.records import (
    ModelRecord,
    ModelSummary,
    decode_record,
    stored_summary,
    summary_text,
    with_aliases,
)
from gatelearn.server.stores.sqlite_errors import store_error
from gatelearn.server.stores.wal_index import WalIndexHeader

__all__ = ["SQLiteStore"]

P = ParamSpec("P")
R = TypeVar("R")

_GENERATION = "SELECT COALESCE(MAX(generation), 0) FROM changes"
_SAVED_FOR = "SELECT name, version FROM requests WHERE request_id = ? AND created_at >= ?"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS names (
    name TEXT PRIMARY KEY,
    last_version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS models (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at REAL NOT NULL,
    meta TEXT NOT NULL,
    request BLOB,
    weights BLOB NOT NULL,
    summary TEXT,
    PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS requests (
    request_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at REAL NOT NULL,
    FOREIGN KEY (name, version) REFERENCES models (name, version) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS requests_by_age ON requests (created_at);
CREATE INDEX IF NOT EXISTS requests_by_model ON requests (name, version);
CREATE TABLE IF NOT EXISTS changes (
    generation INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS aliases (
    name TEXT NOT NULL,
    alias TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (name, alias)
);
"""


def _logged(trigger: str, event: str, table: str, row: str) -> str:
    """A trigger appending the name of each `row` (NEW or OLD) that `event` writes in `table`
    to the change log, keeping its last CHANGES_KEPT entries."""
    return f"""
CREATE TRIGGER IF NOT EXISTS {trigger} AFTER {event} ON {table} BEGIN
    INSERT INTO changes (name) VALUES ({row}.name);
    DELETE FROM changes WHERE generation <= (SELECT MAX(generation) FROM changes) - {CHANGES_KEPT};
END;"""


_TRIGGERS = "".join(
    (
        _logged("models_inserted", "INSERT", "models", "NEW"),
        _logged("models_deleted", "DELETE", "models", "OLD"),
        _logged("aliases_inserted", "INSERT", "aliases", "NEW"),
        _logged("aliases_updated", "UPDATE", "aliases", "NEW"),
        _logged("aliases_deleted", "DELETE", "aliases", "OLD"),
    )
)


# Seconds a write waits for another server's write on the same file before it is refused
# (UNAVAILABLE: "database is locked").
BUSY_TIMEOUT = 30.0


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction, committed whole or rolled back. IMMEDIATE takes the database's
    write lock at BEGIN, so what it reads (a count, a last version) stays true until COMMIT,
    even against another process on the same file."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:  # SQLite has already rolled back after e.g. a full disk
            db.execute("ROLLBACK")
        raise


def _has_summaries(db: sqlite3.Connection) -> bool:
    return "summary" in {row[1] for row in db.execute("PRAGMA table_info(models)")}


def _add_summaries(db: sqlite3.Connection) -> None:
    """Give a store written before the summary column one, filled from each row's metadata."""
    if _has_summaries(db):
        return
    with _transaction(db):
        if _has_summaries(db):  # another server on this directory added it meanwhile
            return
        db.execute("ALTER TABLE models ADD COLUMN summary TEXT")
        for name, version, meta_text in db.execute(
            "SELECT name, version, meta FROM models"
        ).fetchall():
            if (summary := stored_summary(meta_text)) is not None:
                db.execute(
                    "UPDATE models SET summary = ? WHERE name = ? AND version = ?",
                    (summary, name, version),
                )


def _file_identity(path: Path) -> tuple[int, int] | None:
    """Which file `path` names now (device and inode), None when there is none."""
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    return found.st_dev, found.st_ino


def _answered_as_store_errors(
    method: Callable[Concatenate[SQLiteStore, P], R],
) -> Callable[Concatenate[SQLiteStore, P], R]:
    """`method` raising SQLite's errors as the store's own (sqlite_errors), which name the file
    and what to do: a full disk, a damaged file and a locked one call for different answers."""

    @functools.wraps(method)
    def answered(store: SQLiteStore, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(store, *args, **kwargs)
        except sqlite3.Error as error:
            raise store_error(error, store.path) from error

    return answered


class SQLiteStore(Store):
    """Stored models by name and version. Safe to share between threads."""

    FILENAME = "models.sqlite3"
    COMPANIONS = ("-wal", "-shm", "-journal")  # files SQLite keeps beside the database

    def __init__(self, data_dir: Path) -> None:
        make_private_dir(data_dir)
        self.path = data_dir / self.FILENAME
        # SQLite creates its -wal and -shm files with the database file's mode, so a database
        # made 0600 before SQLite opens it keeps them private whatever the umask.
        make_private_file(self.path, create=True)
        for suffix in self.COMPANIONS:
            make_private_file(Path(f"{self.path}{suffix}"), create=False)
        self._open()

    @_answered_as_store_errors
    def _open(self) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")  # a deleted version takes its request ids
        self._db.executescript(_SCHEMA + _TRIGGERS)
        _add_summaries(self._db)
        # Reads of the change log, on every Predict, go through their own connection: in WAL
        # mode it reads while the other one writes, so they never wait for a save's fsync.
        self._watch_lock = threading.Lock()
        self._watch = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT
        )
        # The generation is read again only when a commit has changed the wal-index header
        # since the last read began: a statement releases the GIL several times, and under
        # concurrent Predicts each release is a thread switch (wal_index.py). The first read
        # makes this connection use the -shm file, which must be so before it is mapped.
        self._watch.execute(_GENERATION).fetchone()
        self._wal_index = WalIndexHeader(self.path)
        self._read_at: tuple[bytes, int] | None = None  # (header before the last read, its answer)
        self._identity = _file_identity(self.path)

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, once the database file is still the one opened: SQLite
        writes on through its open file after the file is deleted (its directory removed) or
        replaced, and a later server would never see what was acknowledged."""
        with self._lock:
            if _file_identity(self.path) != self._identity:
                raise StoreMovedError(
                    f"the model store {self.path} was removed or replaced while this server "
                    f"had it open; nothing was changed: restart the server to use the file "
                    f"there now"
                )
            with _transaction(self._db) as db:
                yield db

    def close(self) -> None:
        with self._lock, self._watch_lock:
            self._wal_index.close()
            self._watch.close()
            self._db.close()

    def ping(self) -> None:
        """An open file always answers; the health monitor calls this like any store's."""

    @_answered_as_store_errors
    def generation(self) -> int:
        """The change log's newest generation (0 before any write): the last answer while the
        wal-index header is as it was before that read began, else read now."""
        with self._watch_lock:
            header = self._wal_index.read()
            if header is not None and self._read_at is not None and self._read_at[0] == header:
                return self._read_at[1]
            generation = int(self._watch.execute(_GENERATION).fetchone()[0])
            self._read_at = None if header is None else (header, generation)
            return generation

    @_answered_as_store_errors
    def changes_since(self, generation: int) -> Changes:
        """The newest generation and the names changed after `generation` (see `changes`)."""
        with self._watch_lock:
            self._watch.execute("BEGIN")  # one snapshot for the three reads
            try:
                current = int(self._watch.execute(_GENERATION).fetchone()[0])
                (oldest,) = self._watch.execute("SELECT MIN(generation) FROM changes").fetchone()
                names = self._watch.execute(
                    "SELECT DISTINCT name FROM changes WHERE generation > ?", (generation,)
                )
                return changes_after(generation, current, oldest, (row[0] for row in names))
            finally:
                self._watch.execute("COMMIT")

    @_answered_as_store_errors
    def saved_for(self, request_id: str) -> tuple[str, int] | None:
        """The (name, version) a save with `request_id` stored, if it is kept and exists."""
        with self._lock:
            row = self._db.execute(_SAVED_FOR, (request_id, time.time() - REQUEST_RETENTION))
            found = row.fetchone()
        return None if found is None else (found[0], int(found[1]))

    @_answered_as_store_errors
    def save_packed(
        self,
        name: str,
        meta: ModelMeta,
        weights: bytes,
        request: bytes | None,
        created_at: float | None = None,
        *,
        max_models: int | None = None,
        request_id: str = "",
        meta_text: str = "",
    ) -> int:
        """Store a version whose weights are already `pack_arrays` bytes, as a training worker
        sends them, without unpacking them again; return its version number.

        With `max_models`, StoreFullError (and nothing saved) when the store already holds that
        many versions: counted inside the write transaction, so the count is exact; with
        `request_id`, RequestSavedError (and nothing saved) when that id is kept, looked up
        there too. Request ids older than REQUEST_RETENTION go first. `meta_text` as in `Store`.
        """
        meta_text = meta_text or meta.to_text()
        summary = summary_text(meta)
        now = time.time()
        created_at = now if created_at is None else created_at
        with self._writing() as db:
            db.execute("DELETE FROM requests WHERE created_at < ?", (now - REQUEST_RETENTION,))
            if request_id and (saved := db.execute(_SAVED_FOR, (request_id, 0)).fetchone()):
                raise RequestSavedError(request_id, saved[0], int(saved[1]))
            if (
                max_models is not None
                and db.execute("SELECT COUNT(*) FROM models").fetchone()[0] >= max_models
            ):
                raise StoreFullError(max_models)
            row = db.execute("SELECT last_version FROM names WHERE name = ?", (name,)).fetchone()
            version = (row[0] if row else 0) + 1
            db.execute(
                "INSERT INTO names (name, last_version) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET last_version = excluded.last_version",
                (name, version),
            )
            db.execute(
                "INSERT INTO models (name, version, created_at, meta, request, weights, "
                "summary) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (name, version, created_at, meta_text, request, weights, summary),
            )
            if request_id:
                db.execute(
                    "INSERT INTO requests (request_id, name, version, created_at) "
                    "VALUES (?, ?, ?, ?)",
                    (request_id, name, version, now),
                )
        return int(version)

    @_answered_as_store_errors
    def load(self, name: str, version: int = 0) -> ModelRecord:
        """Return a stored version (the latest when `version` is 0)."""
        query = (
            "SELECT name, version, created_at, meta, request, weights FROM models WHERE name = ? "
        )
        args: tuple[Any, ...] = (name,)
        if version:
            query += "AND version = ?"
            args = (name, version)
        else:
            query += "ORDER BY version DESC LIMIT 1"
        with self._lock:
            row = self._db.execute(query, args).fetchone()
        if row is None:
            raise ModelNotFoundError(name, version)
        return decode_record(*row)

    @_answered_as_store_errors
    def latest_version(self, name: str) -> int:
        """The newest stored version of `name`; ModelNotFoundError if it has none."""
        with self._lock:
            row = self._db.execute(
                "SELECT MAX(version) FROM models WHERE name = ?", (name,)
            ).fetchone()
        if row[0] is None:
            raise ModelNotFoundError(name)
        return int(row[0])

    @_answered_as_store_errors
    def list(self, name: str = "") -> builtins.list[ModelSummary]:
        """Every version of `name`, or the latest version of every name; their summaries, read
        from a column of their own (nothing else is read)."""
        query = "SELECT name, version, created_at, summary FROM models"
        args: tuple[Any, ...] = ()
        if name:
            query += " WHERE name = ?"
            args = (name,)
        else:
            query += (
                " WHERE version = (SELECT MAX(version) FROM models AS m WHERE m.name = models.name)"
            )
        with self._lock:
            rows = self._db.execute(query + " ORDER BY name, version", args).fetchall()
            aliases = self._db.execute(
                "SELECT name, version, alias FROM aliases" + (" WHERE name = ?" if name else ""),
                args,
            ).fetchall()
        return with_aliases([ModelSummary.from_row(*row) for row in rows], aliases)

    @_answered_as_store_errors
    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM models").fetchone()[0])

    @_answered_as_store_errors
    def delete(self, name: str, version: int = 0) -> builtins.list[int]:
        """Delete one version, or every version when `version` is 0; return what was deleted."""
        condition, args = (
            ("name = ? AND version = ?", (name, version)) if version else ("name = ?", (name,))
        )
        with self._writing() as db:
            deleted = [
                row[0]
                for row in db.execute(
                    f"SELECT version FROM models WHERE {condition} ORDER BY version", args
                )
            ]
            if named := dict(
                db.execute(f"SELECT alias, version FROM aliases WHERE {condition}", args).fetchall()
            ):
                raise AliasInUseError(name, named)
            db.execute(f"DELETE FROM models WHERE {condition}", args)
        if not deleted:
            raise ModelNotFoundError(name, version)
        return deleted

    @_answered_as_store_errors
    def set_alias(
        self, name: str, alias: str, version: int, *, max_aliases: int | None = None
    ) -> int:
        """Point `alias` of `name` at `version`; the version it named before (0: it is new)."""
        with self._writing() as db:
            if (
                db.execute(
                    "SELECT 1 FROM models WHERE name = ? AND version = ?", (name, version)
                ).fetchone()
                is None
            ):
                raise ModelNotFoundError(name, version)
            row = db.execute(
                "SELECT version FROM aliases WHERE name = ? AND alias = ?", (name, alias)
            ).fetchone()
            if (
                row is None
                and max_aliases is not None
                and db.execute("SELECT COUNT(*) FROM aliases").fetchone()[0] >= max_aliases
            ):
                raise StoreFullError(max_aliases, "aliases", "max_aliases")
            if row is None or row[0] != version:
                db.execute(
                    "INSERT INTO aliases (name, alias, version) VALUES (?, ?, ?) "
                    "ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version",
                    (name, alias, version),
                )
        return 0 if row is None else int(row[0])

    @_answered_as_store_errors
    def delete_alias(self, name: str, alias: str) -> int:
        """Remove an alias; the version it named."""
        with self._writing() as db:
            rows = db.execute(
                "DELETE FROM aliases WHERE name = ? AND alias = ? RETURNING version", (name, alias)
            ).fetchall()
        if not rows:
            raise AliasNotFoundError(name, alias)
        return int(rows[0][0])

    @_answered_as_store_errors
    def aliases(self, name: str) -> dict[str, int]:
        """Every alias of `name` and the version it names."""
        with self._lock:
            return dict(
                self._db.execute(
                    "SELECT alias, version FROM aliases WHERE name = ?", (name,)
                ).fetchall()
            )
