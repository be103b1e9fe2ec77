"""Errors a store backend raises beyond those of gatelearn.server.store (not found, damaged)."""

from __future__ import annotations

__all__ = ["SchemaVersionError", "StoreFullError"]


class StoreFullError(RuntimeError):
    """A save was refused because the store already holds `limit` model versions."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"the store holds {limit} model versions (limit max_models); delete some first"
        )
        self.limit = limit


class SchemaVersionError(RuntimeError):
    """The database was written by a gatelearn whose schema this one does not know."""

    def __init__(self, found: int, known: int) -> None:
        super().__init__(
            f"the database holds gatelearn schema version {found}, but this "
            f"gatelearn knows versions up to {known}; upgrade gatelearn to use it"
        )
        self.found = found
        self.known = known
