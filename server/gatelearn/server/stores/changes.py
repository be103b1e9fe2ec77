"""The change log every store keeps, so each server's cache sees writes made by any other.

Every insert or delete of a model version appends the model's name under the next
*generation* number, in the writing transaction itself (a trigger does it, so no write path can
forget). Generations are handed out in commit order, so a reader that has applied every change
up to generation g and later reads a larger generation has missed nothing in between. The log
keeps the last `CHANGES_KEPT` entries; a reader further behind than that forgets everything.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["CHANGES_KEPT", "Changes", "changes_after"]

# Entries the log keeps (written into each backend's trigger; PostgreSQL's migration 3).
CHANGES_KEPT = 10_000

# The generation now, and the names changed since the one asked about; None when the log no
# longer reaches back that far, so the reader must forget everything it holds.
Changes = tuple[int, frozenset[str] | None]


def changes_after(seen: int, current: int, oldest: int | None, names: Iterable[str]) -> Changes:
    """What a reader at generation `seen` must forget, from the log's current generation, its
    oldest kept entry and the names logged after `seen`."""
    if current <= seen:
        return seen, frozenset()
    if oldest is None or oldest > seen + 1:
        return current, None
    return current, frozenset(names)
