"""Where the server keeps its data when not told otherwise, and keeping it private.

Models are the owner's alone: directories the server creates are 0700, the data directory is
tightened to that if group or others could use it, and the store's files are 0600.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from gatelearn.api.constants import DATA_DIR_ENV

__all__ = ["DATA_DIR_ENV", "default_data_dir", "make_private_dir", "make_private_file"]

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600

log = logging.getLogger("gatelearn.server")


def default_data_dir() -> Path:
    """$GATELEARN_DATA_DIR, else $XDG_DATA_HOME/gatelearn, else ~/.local/share/gatelearn."""
    explicit = os.environ.get(DATA_DIR_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "gatelearn"


def make_private_dir(path: Path) -> None:
    """Create `path` and its missing parents with mode 0700; take group and other access away
    from an existing `path` (its parents are left as they are), logging that it did."""
    missing = []
    current = path
    while not current.exists():  # Path.mkdir(parents=True) would make the parents 0755
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        directory.mkdir(mode=PRIVATE_DIR, exist_ok=True)  # the umask can only narrow it
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & ~PRIVATE_DIR:
        try:
            path.chmod(mode & PRIVATE_DIR)
        except OSError as error:
            raise OSError(
                f"the data directory {path} has mode {mode:o}, open to other users, "
                f"and cannot be made private: {error}"
            ) from None
        log.warning(
            "the data directory %s had mode %o, open to other users: changed it to %o",
            path,
            mode,
            mode & PRIVATE_DIR,
        )


def make_private_file(path: Path, create: bool) -> None:
    """Give `path` mode 0600, first creating it empty if it is missing and `create` is set."""
    try:
        descriptor = os.open(path, os.O_RDONLY | (os.O_CREAT if create else 0), PRIVATE_FILE)
    except FileNotFoundError:
        if create:
            raise
        return
    try:
        os.fchmod(descriptor, PRIVATE_FILE)
    except OSError as error:  # a read-only file system, say; fchmod's error names no file
        raise OSError(error.errno, f"cannot make {path} private: {error.strerror}") from None
    finally:
        os.close(descriptor)
