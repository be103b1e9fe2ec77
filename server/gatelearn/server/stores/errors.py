"""What a model store refuses or cannot find, the same for every backend."""

from __future__ import annotations

import reprlib

__all__ = [
    "CorruptModelError",
    "ModelNotFoundError",
    "RequestSavedError",
    "SchemaVersionError",
    "StoreFullError",
    "StoreUnavailableError",
]


class ModelNotFoundError(LookupError):
    """No model (or no such version of it) is stored."""

    def __init__(self, name: str, version: int = 0) -> None:
        shown = reprlib.repr(name)  # a long name is shortened, not echoed whole
        what = f"model {shown} version {version}" if version else f"model {shown}"
        super().__init__(f"{what} not found")


class RequestSavedError(LookupError):
    """A save's request id is already saved, as version `version` of `name`: nothing new was."""

    def __init__(self, request_id: str, name: str, version: int) -> None:
        super().__init__(f"request {request_id!r} already saved {name}:{version}")
        self.name = name
        self.version = version


class CorruptModelError(RuntimeError):
    """A stored version cannot be read back as plain arrays and JSON."""

    def __init__(self, name: str, version: int, reason: object) -> None:
        super().__init__(
            f"model {reprlib.repr(name)} version {version} is damaged in the store: {reason}"
        )


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


class StoreUnavailableError(ConnectionError):
    """The store's database cannot be reached now; the same call may work once it is back."""
