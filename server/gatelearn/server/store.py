"""The model store: SQLite in the data directory, one row per model version.

A version is written in one transaction, weights included, so it is visible completely or not
at all; with WAL and synchronous=FULL a committed version survives a crash. Weights are kept as
`.npz` bytes of plain float arrays and read back with `allow_pickle=False`. Version numbers of a
name only ever increase, even after deletes, so "name:3" always means the same model.
"""

from __future__ import annotations

import io
import json
import reprlib
import sqlite3
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gatelearn.server.paths import make_private_dir, make_private_file

__all__ = [
    "CorruptModelError",
    "ModelNotFoundError",
    "ModelRecord",
    "Store",
    "pack_arrays",
    "summary_meta",
    "unpack_arrays",
]

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
"""
# What ListModels shows, kept apart from `meta` so listing never reads histories or tables.
_SUMMARY_KEYS = ("sizes", "metrics")


class ModelNotFoundError(LookupError):
    """No model (or no such version of it) is stored."""


class CorruptModelError(RuntimeError):
    """A stored version cannot be read back as plain arrays and JSON."""


@dataclass
class ModelRecord:
    """One stored model version: its arrays and everything known about it.

    `meta` is plain JSON data: sizes, activations, bias, dtype, task, label values, metrics,
    history. `request` is the serialized request that trained it (None for imports).
    """

    name: str
    meta: dict[str, Any]
    weights: list[NDArray[np.float64]]
    biases: list[NDArray[np.float64]] | None
    request: bytes | None = None
    version: int = 0
    created_at: float = field(default_factory=time.time)


def _not_found(name: str, version: int) -> ModelNotFoundError:
    shown = reprlib.repr(name)  # a long name is shortened, not echoed whole
    what = f"model {shown} version {version}" if version else f"model {shown}"
    return ModelNotFoundError(f"{what} not found")


def summary_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """The part of a model's metadata a listing shows: sizes, metrics and the task's name."""
    summary = {key: meta[key] for key in _SUMMARY_KEYS if key in meta}
    if meta.get("task"):
        summary["task"] = {"name": meta["task"]["name"]}
    return summary


def _add_summaries(db: sqlite3.Connection) -> None:
    """Give a store written before the summary column one, filled from each row's metadata."""
    if "summary" in {row[1] for row in db.execute("PRAGMA table_info(models)")}:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("ALTER TABLE models ADD COLUMN summary TEXT")
        for name, version, meta_text in db.execute(
                "SELECT name, version, meta FROM models").fetchall():
            try:
                summary = json.dumps(summary_meta(json.loads(meta_text)))
            except (ValueError, KeyError, TypeError):
                continue  # a damaged row stays damaged; loading it says so
            db.execute("UPDATE models SET summary = ? WHERE name = ? AND version = ?",
                       (summary, name, version))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def pack_arrays(weights: list[NDArray[Any]], biases: list[NDArray[Any]] | None) -> bytes:
    """A model's matrices as `.npz` bytes: w0, w1, ... and b0, b1, ... when it has biases."""
    arrays = {f"w{index}": np.asarray(w, dtype=np.float64) for index, w in enumerate(weights)}
    for index, b in enumerate(biases or []):
        arrays[f"b{index}"] = np.asarray(b, dtype=np.float64)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def unpack_arrays(blob: bytes, layers: int, bias: bool) -> tuple[list[NDArray[Any]],
                                                             list[NDArray[Any]] | None]:
    with np.load(io.BytesIO(blob), allow_pickle=False) as arrays:
        weights = [arrays[f"w{index}"] for index in range(layers)]
        biases = [arrays[f"b{index}"] for index in range(layers)] if bias else None
    return weights, biases


class Store:
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
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        _add_summaries(self._db)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def save(self, record: ModelRecord) -> ModelRecord:
        """Store `record` as the next version of its name; return it with that version."""
        record.version = self.save_packed(record.name, record.meta,
                                          pack_arrays(record.weights, record.biases),
                                          record.request, record.created_at)
        return record

    def save_packed(self, name: str, meta: dict[str, Any], weights: bytes,
                    request: bytes | None, created_at: float | None = None) -> int:
        """Store a version whose weights are already `pack_arrays` bytes, as a training worker
        sends them, without unpacking them again; return its version number."""
        meta_text = json.dumps(meta, allow_nan=False)
        summary_text = json.dumps(summary_meta(meta), allow_nan=False)
        created_at = time.time() if created_at is None else created_at
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT last_version FROM names WHERE name = ?",
                                       (name,)).fetchone()
                version = (row[0] if row else 0) + 1
                self._db.execute(
                    "INSERT INTO names (name, last_version) VALUES (?, ?) "
                    "ON CONFLICT(name) DO UPDATE SET last_version = excluded.last_version",
                    (name, version),
                )
                self._db.execute(
                    "INSERT INTO models (name, version, created_at, meta, request, weights, "
                    "summary) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (name, version, created_at, meta_text, request, weights, summary_text),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return int(version)

    def load(self, name: str, version: int = 0) -> ModelRecord:
        """Return a stored version (the latest when `version` is 0)."""
        query = ("SELECT name, version, created_at, meta, request, weights FROM models "
                 "WHERE name = ? ")
        args: tuple[Any, ...] = (name,)
        if version:
            query += "AND version = ?"
            args = (name, version)
        else:
            query += "ORDER BY version DESC LIMIT 1"
        with self._lock:
            row = self._db.execute(query, args).fetchone()
        if row is None:
            raise _not_found(name, version)
        name, version, created_at, meta_text, request, blob = row
        try:
            meta = json.loads(meta_text)
            weights, biases = unpack_arrays(blob, len(meta["sizes"]) - 1, meta["bias"])
        except (ValueError, KeyError, TypeError, OSError, zipfile.BadZipFile) as error:
            # Not written by this store (object arrays are refused, never unpickled).
            raise CorruptModelError(f"model {reprlib.repr(name)} version {version} is "
                                    f"damaged in the store: {error}") from None
        return ModelRecord(name, meta, weights, biases, request, version, created_at)

    def latest_version(self, name: str) -> int:
        """The newest stored version of `name`; ModelNotFoundError if it has none."""
        with self._lock:
            row = self._db.execute("SELECT MAX(version) FROM models WHERE name = ?",
                                   (name,)).fetchone()
        if row[0] is None:
            raise _not_found(name, 0)
        return int(row[0])

    def list(self, name: str = "") -> list[ModelRecord]:
        """Every version of `name`, or the latest version of every name; their meta holds only
        `summary_meta`, read from its own column (nothing else is read)."""
        query = "SELECT name, version, created_at, summary FROM models"
        args: tuple[Any, ...] = ()
        if name:
            query += " WHERE name = ?"
            args = (name,)
        else:
            query += " WHERE version = (SELECT MAX(version) FROM models AS m WHERE m.name = " \
                     "models.name)"
        with self._lock:
            rows = self._db.execute(query + " ORDER BY name, version", args).fetchall()
        return [ModelRecord(n, json.loads(summary or "{}"), [], None, None, v, created)
                for n, v, created, summary in rows]

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM models").fetchone()[0])

    def delete(self, name: str, version: int = 0) -> list[int]:
        """Delete one version, or every version when `version` is 0; return what was deleted."""
        condition, args = ("name = ? AND version = ?", (name, version)) if version else (
            "name = ?", (name,))
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                deleted = [row[0] for row in self._db.execute(
                    f"SELECT version FROM models WHERE {condition} ORDER BY version", args)]
                self._db.execute(f"DELETE FROM models WHERE {condition}", args)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        if not deleted:
            raise _not_found(name, version)
        return deleted
