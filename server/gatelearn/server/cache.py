"""Loaded models kept in memory, so Predict does not rebuild a network on every call.

Entries are keyed by (name, version): a version never changes once stored, so only deletes
invalidate. The latest version of each name is remembered too, told by the service whenever
it stores one, so an unpinned Predict does not query SQLite.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from gatelearn.plugins import Registry
from gatelearn.server.models import ServableModel, servable
from gatelearn.server.store import Store

__all__ = ["ModelCache"]


class ModelCache:
    """The `size` most recently used models, rebuilt from the store on a miss."""

    def __init__(self, store: Store, registry: Registry, size: int) -> None:
        self._store = store
        self._registry = registry
        self._size = size
        self._models: OrderedDict[tuple[str, int], ServableModel] = OrderedDict()
        self._deletes = 0  # counts forget() calls, so a load racing a delete is not kept
        self._latest: dict[str, int] = {}  # name -> latest version, kept by saved/forget
        self._lock = threading.Lock()

    def get(self, name: str, version: int = 0) -> ServableModel:
        """A model version (the latest when `version` is 0); ModelNotFoundError if none."""
        key = (name, version or self._latest_version(name))
        with self._lock:
            model = self._models.get(key)
            if model is not None:
                self._models.move_to_end(key)
                return model
            generation = self._deletes
        model = servable(self._store.load(*key), self._registry)
        with self._lock:
            if generation == self._deletes:  # no delete ran while it loaded: safe to keep
                self._models[key] = model
                while len(self._models) > self._size:
                    self._models.popitem(last=False)
        return model

    def _latest_version(self, name: str) -> int:
        with self._lock:
            latest = self._latest.get(name)
        if latest is None:
            latest = self._store.latest_version(name)
            with self._lock:
                self._latest.setdefault(name, latest)
        return latest

    def saved(self, name: str, version: int) -> None:
        """Note a newly stored version: it is now the latest of `name`."""
        with self._lock:
            self._latest[name] = max(version, self._latest.get(name, 0))

    def forget(self, name: str) -> None:
        """Drop every cached version of `name` (after a delete)."""
        with self._lock:
            self._deletes += 1
            self._latest.pop(name, None)
            for key in [key for key in self._models if key[0] == name]:
                del self._models[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._models)
