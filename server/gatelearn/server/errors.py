"""Domain errors, named by what went wrong rather than by a status code.

Services raise these; only the edge (`edge.statuses`) turns them into gRPC status codes. A
training's error crosses the worker pipe as its kind name and arguments (`to_json`/`from_json`).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AtCapacity",
    "Cancelled",
    "DataLoss",
    "DeadlineExceeded",
    "DomainError",
    "FailedPrecondition",
    "InvalidRequest",
    "NotFound",
    "Unavailable",
    "from_json",
    "to_json",
]


class DomainError(Exception):
    """A request that cannot be served as sent, with a message for the client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def parts(self) -> dict[str, Any]:
        """The constructor's arguments, so the error can be rebuilt on the other side of a pipe."""
        return {"message": self.message}


class InvalidRequest(DomainError):
    """A field of the request is wrong; the message starts with the field's name."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.detail = message

    def parts(self) -> dict[str, Any]:
        return {"field": self.field, "message": self.detail}


class NotFound(DomainError):
    """Something the request names does not exist."""


class AtCapacity(DomainError):
    """A limit on what the server holds or runs at once is reached; retrying later may work."""


class FailedPrecondition(DomainError):
    """The request is well formed, but the state it needs is not there (a plugin, a worker)."""


class Unavailable(DomainError):
    """A passing condition; the same request may succeed at once."""


class Cancelled(DomainError):
    """The work was stopped (by the client or a shutdown) before it finished."""


class DeadlineExceeded(DomainError):
    """The work ran past the time it is allowed."""


class DataLoss(DomainError):
    """Stored data is damaged."""


_KINDS: dict[str, type[DomainError]] = {
    kind.__name__: kind
    for kind in (
        InvalidRequest,
        NotFound,
        AtCapacity,
        FailedPrecondition,
        Unavailable,
        Cancelled,
        DeadlineExceeded,
        DataLoss,
    )
}


def to_json(error: DomainError) -> dict[str, Any]:
    """An error as JSON-able data: its kind's name and its arguments."""
    return {"kind": type(error).__name__, **error.parts()}


def from_json(data: dict[str, Any]) -> DomainError:
    """The error `to_json` described."""
    parts = dict(data)
    return _KINDS[parts.pop("kind")](**parts)
