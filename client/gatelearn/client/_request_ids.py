"""Request ids: the key that will let a server recognise a retried Train or ImportModel."""

from __future__ import annotations

import re
import uuid

__all__ = ["MAX_REQUEST_ID_LENGTH", "new_request_id", "request_id_problem"]

MAX_REQUEST_ID_LENGTH = 128
_ALLOWED = re.compile(r"[A-Za-z0-9._:-]+")


def new_request_id() -> str:
    """A random id (32 hex digits), unique for every practical purpose."""
    return uuid.uuid4().hex


def request_id_problem(value: str) -> str | None:
    """Why `value` cannot be a request id, or None. The client always sends one, so empty
    (which the protocol takes as no id) is refused too."""
    if len(value) > MAX_REQUEST_ID_LENGTH or not _ALLOWED.fullmatch(value):
        return (
            f"request_id: {value[:40]!r}{'...' if len(value) > 40 else ''} is not 1 to "
            f"{MAX_REQUEST_ID_LENGTH} characters from letters, digits, '.', '_', ':' and '-'"
        )
    return None
