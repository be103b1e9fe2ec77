"""Model stores: the Store protocol, records and their codec, and the backends.

SQLite (`SQLiteStore`, embedded, the default) and PostgreSQL (`PostgresStore`, shared by
replicas; psycopg is imported only when one is made) keep the same promises; see `base`.
"""

from __future__ import annotations

from gatelearn.server.stores.base import Store
from gatelearn.server.stores.errors import (
    AliasInUseError,
    AliasNotFoundError,
    CorruptModelError,
    ModelNotFoundError,
    NewerModelError,
    RequestSavedError,
    SchemaVersionError,
    StoreFullError,
)
from gatelearn.server.stores.meta import ComponentMeta, History, Metrics, ModelMeta, TaskMeta
from gatelearn.server.stores.postgres import PostgresStore
from gatelearn.server.stores.records import ModelRecord, ModelSummary, pack_arrays, unpack_arrays
from gatelearn.server.stores.sqlite import SQLiteStore

__all__ = [
    "AliasInUseError",
    "AliasNotFoundError",
    "ComponentMeta",
    "CorruptModelError",
    "History",
    "Metrics",
    "ModelMeta",
    "ModelNotFoundError",
    "NewerModelError",
    "ModelRecord",
    "ModelSummary",
    "PostgresStore",
    "RequestSavedError",
    "SQLiteStore",
    "SchemaVersionError",
    "Store",
    "StoreFullError",
    "TaskMeta",
    "pack_arrays",
    "unpack_arrays",
]
