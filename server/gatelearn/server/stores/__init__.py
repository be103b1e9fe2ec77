"""Model store backends beside the embedded SQLite store (gatelearn.server.store).

Each backend keeps the same promises: a version is written in one transaction and visible only
complete, version numbers are never reused, weights are `.npz` bytes read without pickle.
"""

from __future__ import annotations

from gatelearn.server.stores.errors import SchemaVersionError, StoreFullError
from gatelearn.server.stores.postgres import PostgresStore

__all__ = ["PostgresStore", "SchemaVersionError", "StoreFullError"]
