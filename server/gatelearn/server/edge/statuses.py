"""The one table from errors to gRPC status codes, and the context that answers with it.

Services raise domain errors (`errors`), the store and the registry their own; the servicer
runs each call inside `statuses(context)`, so no other module needs to know a status code.
"""

from __future__ import annotations

from types import TracebackType

import grpc

from gatelearn.core import ParamError
from gatelearn.plugins import UnknownComponentError
from gatelearn.server import errors
from gatelearn.server.edge.sync_context import SyncContext, cut_details
from gatelearn.server.stores.errors import (
    AliasInUseError,
    AliasNotFoundError,
    CorruptModelError,
    ModelNotFoundError,
    NewerModelError,
    StoreBusyError,
    StoreConflictError,
    StoreDamagedError,
    StoreDiskFullError,
    StoreFullError,
    StoreMovedError,
    StoreTimeoutError,
    StoreUnavailableError,
)
from gatelearn.server.stores.meta import NewerLayoutError

__all__ = ["STATUSES", "statuses"]

STATUSES: dict[type[Exception], grpc.StatusCode] = {
    errors.InvalidRequest: grpc.StatusCode.INVALID_ARGUMENT,
    ParamError: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    ModelNotFoundError: grpc.StatusCode.NOT_FOUND,
    AliasNotFoundError: grpc.StatusCode.NOT_FOUND,
    errors.AtCapacity: grpc.StatusCode.RESOURCE_EXHAUSTED,
    StoreFullError: grpc.StatusCode.RESOURCE_EXHAUSTED,
    # The disk under the store is full: the write was rolled back, and works once there is room.
    StoreDiskFullError: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    # A stored model needs a plugin that is no longer installed.
    UnknownComponentError: grpc.StatusCode.FAILED_PRECONDITION,
    # A delete of a version an alias names.
    AliasInUseError: grpc.StatusCode.FAILED_PRECONDITION,
    # A version stored by a newer gatelearn sharing the database: this server needs upgrading.
    NewerModelError: grpc.StatusCode.FAILED_PRECONDITION,
    # The same met elsewhere (a worker's record read while the install was being upgraded).
    NewerLayoutError: grpc.StatusCode.FAILED_PRECONDITION,
    # The database file was deleted or replaced under a running server: it must be restarted.
    StoreMovedError: grpc.StatusCode.FAILED_PRECONDITION,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
    StoreUnavailableError: grpc.StatusCode.UNAVAILABLE,
    # Every connection to the database is in use; nothing was done, so the client's automatic
    # retry of UNAVAILABLE (perhaps on another replica) is the right answer.
    StoreBusyError: grpc.StatusCode.UNAVAILABLE,
    # A write rolled back for a deadlock or serialization failure each time it was tried.
    StoreConflictError: grpc.StatusCode.ABORTED,
    errors.Cancelled: grpc.StatusCode.CANCELLED,
    errors.DeadlineExceeded: grpc.StatusCode.DEADLINE_EXCEEDED,
    # The database's statement_timeout or lock_timeout cancelled a statement.
    StoreTimeoutError: grpc.StatusCode.DEADLINE_EXCEEDED,
    errors.DataLoss: grpc.StatusCode.DATA_LOSS,
    CorruptModelError: grpc.StatusCode.DATA_LOSS,
    StoreDamagedError: grpc.StatusCode.DATA_LOSS,
}


def _status_of(error: Exception) -> grpc.StatusCode | None:
    """The code `error` is answered with (its most specific class in the table), if any."""
    for kind in type(error).__mro__:
        if kind in STATUSES:
            return STATUSES[kind]
    return None


class statuses:  # lower case: it reads as a function, `with statuses(context):`
    """Answer the errors of the table with the status code their meaning calls for. A class
    rather than a generator: it wraps every call, and this form costs less."""

    def __init__(self, context: SyncContext) -> None:
        self._context = context

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if isinstance(error, Exception) and (code := _status_of(error)) is not None:
            _abort(self._context, code, str(error))  # raises: the call ends with `code`


def _abort(context: SyncContext, code: grpc.StatusCode, message: str) -> None:
    """End the call with `code`; a message that echoes long client input is cut short."""
    context.abort(code, cut_details(message))
