"""Where the server keeps its data when not told otherwise."""

from __future__ import annotations

import os
from pathlib import Path

from gatelearn.api.constants import DATA_DIR_ENV

__all__ = ["DATA_DIR_ENV", "default_data_dir"]


def default_data_dir() -> Path:
    """$GATELEARN_DATA_DIR, else $XDG_DATA_HOME/gatelearn, else ~/.local/share/gatelearn."""
    explicit = os.environ.get(DATA_DIR_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "gatelearn"
