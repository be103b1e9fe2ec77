"""Choosing a store from its URL: `sqlite:///DIR` (the embedded default) or `postgresql://...`.

Without a URL the store is SQLite in the data directory, exactly as `gatelearn serve` has always
kept it, so the README's first command needs no setting. A PostgreSQL URL may carry a password:
`redacted` is what logs and messages show instead.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from gatelearn.server.stores.base import Store

__all__ = ["SCHEMES", "open_store", "redacted"]

SCHEMES = ("sqlite", "postgresql", "postgres")


def _scheme(url: str) -> str:
    scheme = urlsplit(url).scheme
    if scheme not in SCHEMES:
        raise ValueError(
            f"store URL {redacted(url)!r}: the scheme must be sqlite:///DIR or "
            f"postgresql://[user@]host[:port]/database"
        )
    return scheme


def redacted(url: str) -> str:
    """`url` with any password replaced by `***`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def open_store(
    url: str | None, data_dir: Path, on_unavailable: Callable[[], None] | None = None
) -> Store:
    """The store `url` names, or SQLite in `data_dir` when there is no URL. A database store
    calls `on_unavailable` whenever a call finds it unreachable."""
    from gatelearn.server.stores.postgres import PostgresStore
    from gatelearn.server.stores.sqlite import SQLiteStore

    if not url:
        return SQLiteStore(data_dir)
    if _scheme(url) == "sqlite":
        path = urlsplit(url).path
        if not path or path == "/":
            raise ValueError(f"store URL {url!r}: name the data directory, as sqlite:///DIR")
        return SQLiteStore(Path(path))
    return PostgresStore(url, on_unavailable=on_unavailable)
