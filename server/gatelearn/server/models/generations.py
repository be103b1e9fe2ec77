"""One read of the change log's generation, shared by the calls that queue for it.

A cached Predict must see every write acknowledged before it arrived, so it reads the store's
generation. Any read that began after a call arrived answers for that call as well: calls that
wait while a read is in flight take the answer of the next read, which one of them makes for
all. So at most one read is in flight, and under load most calls make none (each read is a
database statement, and a round trip with PostgreSQL).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["SharedGeneration"]


class SharedGeneration:
    """`current()` is what `read()` answers at some moment after `current` was called."""

    def __init__(self, read: Callable[[], int]) -> None:
        self._read = read
        self._lock = threading.Lock()
        self._begun = 0  # reads begun so far, numbered from 1
        self._answered = 0  # the number of the last read that answered, and its answer
        self._answer = 0

    def current(self) -> int:
        """The generation, as read by a read begun after this call; a failed read raises."""
        arrived = self._begun  # reads begun until now may predate a write acknowledged before
        with self._lock:
            if self._answered > arrived:  # begun after we arrived, and over: we hold the lock
                return self._answer
            self._begun += 1
            number = self._begun
            answer = self._read()
            self._answered, self._answer = number, answer
            return answer
