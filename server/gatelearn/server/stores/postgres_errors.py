"""What a psycopg error means to a caller of the PostgreSQL store, as one of the store's errors.

Every driver error the store meets is an OperationalError (or an InterfaceError on a connection
that broke), whatever its cause; the causes call for different answers. A database that cannot
be reached is StoreUnavailableError (UNAVAILABLE, and health NOT_SERVING); a pool whose every
connection is in use is StoreBusyError (the database answers, so health stays SERVING); a
statement cancelled by `statement_timeout` or `lock_timeout` is StoreTimeoutError; a deadlock
or serialization failure is StoreConflictError, which the store retries: the database rolled the
whole transaction back, so running it again cannot do anything twice.
"""

from __future__ import annotations

from typing import Any

from gatelearn.server.stores.errors import (
    StoreBusyError,
    StoreConflictError,
    StoreTimeoutError,
    StoreTransientError,
    StoreUnavailableError,
)

__all__ = ["pool_saturated", "store_error"]

# SQLSTATEs of a transaction the database rolled back because of concurrent ones.
_CONFLICTS = {"40001": "serialization failure", "40P01": "deadlock"}
# SQLSTATEs of a statement the database cancelled for running or waiting too long.
_TIMEOUTS = {"57014": "statement_timeout", "55P03": "lock_timeout"}


def pool_saturated(stats: dict[str, int]) -> bool:
    """Whether a pool (`ConnectionPool.get_stats()`) has all the connections it may open and
    none idle: a checkout timed out because calls hold them, not because none could be made."""
    return stats.get("pool_size", 0) >= stats.get("pool_max", 1) and not stats.get(
        "pool_available", 0
    )


def store_error(
    error: Exception, where: str, *, pool: dict[str, int] | None = None
) -> StoreTransientError:
    """The store error `error` stands for; `where` names the store (its URL redacted), `pool`
    is the pool's statistics when `error` is a checkout that timed out."""
    cause = str(error).strip()
    state: Any = getattr(error, "sqlstate", None)
    if pool is not None and pool_saturated(pool):
        return StoreBusyError(
            f"the model store ({where}) is busy: all {pool['pool_max']} of this server's "
            f"connections to it are in use by other calls ({cause}); retry shortly"
        )
    if state in _CONFLICTS:
        return StoreConflictError(
            f"the model store ({where}) rolled back a write that met concurrent writes "
            f"({_CONFLICTS[state]}: {cause})"
        )
    if state in _TIMEOUTS:
        return StoreTimeoutError(
            f"the model store ({where}) cancelled a statement past the database's "
            f"{_TIMEOUTS[state]} ({cause}); nothing was done"
        )
    return StoreUnavailableError(f"the model store ({where}) cannot be reached: {cause}")
