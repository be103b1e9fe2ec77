"""What the synchronous servicer code sees of a grpc.aio call: abort, is_active, add_callback.

The servicers, training and reflection are synchronous code that may run in a pool thread while
the call lives on the event loop, where grpc.aio's own context may only be used (and where its
`abort` is a coroutine). This context raises `Aborted` for the loop side to answer with, and
turns inactive, running the callbacks added to it, once the loop side sees the call end.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import NoReturn

import grpc

__all__ = ["MAX_DETAILS", "Aborted", "SyncContext", "cut_details"]


MAX_DETAILS = 1024  # characters of a status message


def cut_details(message: str) -> str:
    """`message` cut to MAX_DETAILS characters: status details travel in metadata, whose size
    clients limit (a 20,000-character one reached the client as RESOURCE_EXHAUSTED)."""
    return message if len(message) <= MAX_DETAILS else message[: MAX_DETAILS - 1] + "…"


class Aborted(Exception):
    """The call is to end with `code` and `details` (cut to MAX_DETAILS); the loop side
    answers it so."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        details = cut_details(details)
        super().__init__(code, details)
        self.code = code
        self.details = details


class SyncContext:
    """A call's context for synchronous code, in any thread."""

    __slots__ = ("_active", "_callbacks", "_lock")

    def __init__(self) -> None:
        self._active = True
        self._callbacks: list[Callable[[], object]] = []
        self._lock = threading.Lock()

    def abort(self, code: grpc.StatusCode, details: str) -> NoReturn:
        raise Aborted(code, details)

    def is_active(self) -> bool:
        """False once the call has ended: answered, cancelled, or its client gone."""
        return self._active

    def add_callback(self, callback: Callable[[], object]) -> bool:
        """Run `callback` when the call ends; False (and not run) when it has ended already."""
        with self._lock:
            if self._active:
                self._callbacks.append(callback)
            return self._active

    def end(self) -> None:
        """The call has ended: is_active turns False and the callbacks run, once."""
        with self._lock:
            self._active, callbacks, self._callbacks = False, self._callbacks, []
        for callback in callbacks:
            callback()
