"""What an error of Python's sqlite3 module means to a caller of the SQLite store, as one of the
store's errors, each naming the database file and what to do.

SQLite reports every failure as an OperationalError or a DatabaseError; the causes call for
different answers. A full disk (or a file past the process's size limit) is StoreDiskFullError:
the write was rolled back and works once there is room. A file that is not a database, or whose
pages or text no longer read (bytes flipped or cut short), is StoreDamagedError: retrying cannot
mend it. Anything else (a lock held past the busy timeout, an I/O error, a read-only file) is
StoreUnavailableError: the same call may work later.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from gatelearn.server.stores.errors import (
    StoreDamagedError,
    StoreDiskFullError,
    StoreUnavailableError,
)

__all__ = ["store_error"]

# SQLite's primary result codes (the low byte of an extended code).
_CORRUPT = 11
_FULL = 13
_NOTADB = 26
# Python's sqlite3 raises this, with no SQLite code, for a text column that is not UTF-8.
_UNDECODABLE = "Could not decode to UTF-8"


def store_error(error: sqlite3.Error, path: Path) -> Exception:
    """The store error `error`, met on the database at `path`, stands for."""
    code = (getattr(error, "sqlite_errorcode", None) or 0) & 0xFF
    cause = str(error)
    if code == _FULL:
        return StoreDiskFullError(
            f"the model store {path} has no room to write ({cause}); nothing was changed: "
            f"free space on its disk and retry"
        )
    undecodable = cause.startswith(_UNDECODABLE)
    if code in (_CORRUPT, _NOTADB) or undecodable:
        # Python's message for undecodable text goes on to quote that text.
        what = "a text column is not UTF-8" if undecodable else cause
        return StoreDamagedError(
            f"the model store {path} is damaged ({what}): stop the server and restore the "
            f"file from a backup"
        )
    return StoreUnavailableError(f"the model store {path} cannot be used now: {cause}")
