"""Whether anything committed to a WAL-mode SQLite database, told without a statement.

SQLite's unix VFS keeps the wal-index in the `-shm` file beside the database, mapped shared by
every connection; its header (two copies of 48 bytes at the start, see sqlite.org/walformat.html)
changes at each commit (a counter, the last frame, the salts) before the commit returns.
Reading that header from our own read-only mapping is a memory copy: unlike a statement, it
neither releases the GIL nor makes a system call, so under concurrent Predicts it costs no
thread switches. Any change, or a torn read during a commit, only means "read the log".
"""

from __future__ import annotations

import mmap
from pathlib import Path

__all__ = ["HEADER_BYTES", "WalIndexHeader"]

HEADER_BYTES = 96  # both copies of the wal-index header


class WalIndexHeader:
    """A read-only view of a database's wal-index header. Open it only while a connection of
    ours has read the database in WAL mode: that connection keeps the `-shm` file in use, so
    SQLite never truncates it under the mapping."""

    def __init__(self, database: Path) -> None:
        self._map: mmap.mmap | None = None
        try:
            with open(f"{database}-shm", "rb") as shm:
                self._map = mmap.mmap(shm.fileno(), HEADER_BYTES, access=mmap.ACCESS_READ)
        except (OSError, ValueError):  # no -shm, or shorter than a header: not WAL as we know it
            self._map = None

    def read(self) -> bytes | None:
        """The header's bytes now; None when it could not be mapped (callers read the log)."""
        return None if self._map is None else self._map[:HEADER_BYTES]

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None
