"""What a model store refuses or cannot find, the same for every backend."""

from __future__ import annotations

import reprlib

__all__ = [
    "AliasInUseError",
    "AliasNotFoundError",
    "CorruptModelError",
    "ModelNotFoundError",
    "NewerModelError",
    "RequestSavedError",
    "SchemaVersionError",
    "StoreBusyError",
    "StoreConflictError",
    "StoreDamagedError",
    "StoreDiskFullError",
    "StoreFullError",
    "StoreMovedError",
    "StoreTimeoutError",
    "StoreTransientError",
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


class AliasNotFoundError(LookupError):
    """A model has no alias of that name."""

    def __init__(self, name: str, alias: str) -> None:
        super().__init__(f"model {reprlib.repr(name)} has no alias {reprlib.repr(alias)}")


class AliasInUseError(RuntimeError):
    """A delete was refused: aliases still name versions it would remove."""

    def __init__(self, name: str, aliases: dict[str, int]) -> None:
        named = ", ".join(
            f"{reprlib.repr(alias)} (version {version})"
            for alias, version in sorted(aliases.items())
        )
        kind = "alias" if len(aliases) == 1 else "aliases"
        super().__init__(
            f"model {reprlib.repr(name)} has {kind} {named} naming what this "
            f"would delete; move or delete the {kind} first"
        )
        self.aliases = aliases


class CorruptModelError(RuntimeError):
    """A stored version cannot be read back as plain arrays and JSON."""

    def __init__(self, name: str, version: int, reason: object) -> None:
        super().__init__(
            f"model {reprlib.repr(name)} version {version} is damaged in the store: {reason}"
        )


class NewerModelError(RuntimeError):
    """A stored version was written by a newer gatelearn than this server (a replica not yet
    upgraded, sharing the database with one that is)."""

    def __init__(self, name: str, version: int, reason: object) -> None:
        super().__init__(
            f"model {reprlib.repr(name)} version {version} was stored by a newer gatelearn "
            f"({reason}): upgrade this server to read it"
        )


class StoreFullError(RuntimeError):
    """A save was refused because the store already holds `limit` model versions (or aliases,
    limit max_aliases)."""

    def __init__(
        self, limit: int, what: str = "model versions", limit_name: str = "max_models"
    ) -> None:
        super().__init__(f"the store holds {limit} {what} (limit {limit_name}); delete some first")
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


class StoreTransientError(Exception):
    """The store could not do this call now; the same call may work later."""


class StoreUnavailableError(StoreTransientError, ConnectionError):
    """The store's database cannot be reached now; the same call may work once it is back."""


class StoreBusyError(StoreTransientError):
    """Every connection to the store's database is in use: it answers, but not this call yet."""


class StoreTimeoutError(StoreTransientError):
    """The database cancelled a statement that ran or waited past its statement or lock
    timeout; the transaction was rolled back."""


class StoreConflictError(StoreTransientError):
    """A write kept meeting concurrent writes (deadlock or serialization failure) and was
    rolled back each time, up to the store's bounded number of attempts."""


class StoreDiskFullError(RuntimeError):
    """The disk holding the store has no room for a write; it was rolled back whole, and the
    same write works once there is room again."""


class StoreDamagedError(RuntimeError):
    """The store's database file itself cannot be read as a database (bytes changed or cut
    short behind its back): only restoring it mends that."""


class StoreMovedError(RuntimeError):
    """The store's database file was removed or replaced while the server had it open: a write
    would go to a file no later server opens, so none is made until the server is restarted."""
