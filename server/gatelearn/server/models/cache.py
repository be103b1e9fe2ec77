"""Loaded models kept in memory, so Predict does not rebuild a network on every call.

Entries are keyed by (name, version), and the latest version and the aliases of each name are
remembered, so an unpinned Predict, or one naming an alias, does not load anything. Writes by
this server or any other sharing the store (aliases included) reach the cache through the
store's change log (stores.changes): every `get` first reads the log's generation, one indexed
single-row read shared by the calls waiting for it (generations.py), and forgets the names
written since, so a save, delete or alias move acknowledged anywhere before the call is seen by
it (read-your-writes across replicas).
The cache holds at most `size` models and `max_bytes` of them (arrays and metadata counted as
Python holds them).
"""

from __future__ import annotations

import dataclasses
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from gatelearn.plugins import Registry
from gatelearn.server.models.generations import SharedGeneration
from gatelearn.server.models.servable import ServableModel, servable
from gatelearn.server.stores.base import Store
from gatelearn.server.stores.errors import AliasNotFoundError, StoreUnavailableError
from gatelearn.server.stores.meta import History
from gatelearn.server.stores.records import ModelRecord

__all__ = ["ModelCache", "footprint"]

T = TypeVar("T")


def _data_bytes(value: Any) -> int:
    """Memory held by JSON-like data: containers, their keys and items."""
    size = sys.getsizeof(value)
    if isinstance(value, dict):
        size += sum(_data_bytes(key) + _data_bytes(item) for key, item in value.items())
    elif isinstance(value, list | tuple):
        size += sum(_data_bytes(item) for item in value)
    return size


def footprint(model: ServableModel) -> int:
    """Bytes a loaded model holds: its record's arrays and metadata and its network's arrays."""
    record = model.record
    arrays = [
        *record.weights,
        *(record.biases or []),
        *(
            a
            for layer in model.network.layers
            for a in (layer.weights, layer.bias)
            if a is not None
        ),
    ]
    return (
        sum(a.nbytes for a in arrays)
        + _data_bytes(record.meta.to_json())
        + len(record.request or b"")
    )


def _for_serving(record: ModelRecord) -> ModelRecord:
    """The record without what serving never reads: its history, its recipe (which repeats a
    task's inline rows: kept, a model trained on 6.6 MB of them held 60 MB here, not 30), its
    training request and the state its training left off in."""
    record.meta = dataclasses.replace(record.meta, history=History(), recipe=None)
    record.request = None
    record.state = None
    return record


class ModelCache:
    """The most recently used models, at most `size` of them and `max_bytes` together, rebuilt
    from the store on a miss."""

    def __init__(self, store: Store, registry: Registry, size: int, max_bytes: int) -> None:
        self._store = store
        self._registry = registry
        self._size = size
        self._max_bytes = max_bytes
        self._models: OrderedDict[tuple[str, int], tuple[ServableModel, int]] = OrderedDict()
        self._bytes = 0
        self._latest: dict[str, int] = {}  # name -> latest version
        self._aliases: dict[str, dict[str, int]] = {}  # name -> its aliases and their versions
        self._generation = store.generation()  # the change log's entry last applied
        self._generations = SharedGeneration(store.generation)
        self._forgets = 0  # counts invalidations, so a load racing one is not kept
        self._lock = threading.Lock()
        self.hits = 0  # get() answered from memory, and from the store: for the metrics
        self.misses = 0

    def get(self, name: str, version: int = 0) -> ServableModel:
        """A model version (the latest when `version` is 0); ModelNotFoundError if none."""
        self._catch_up()
        key = (name, version or self._latest_version(name))
        with self._lock:
            entry = self._models.get(key)
            if entry is not None:
                self._models.move_to_end(key)
                self.hits += 1
                return entry[0]
            self.misses += 1
            forgets = self._forgets
        model = servable(_for_serving(self._store.load(*key)), self._registry)
        size = footprint(model)
        with self._lock:
            # Kept only when nothing was forgotten while it loaded, and when it fits at all.
            if forgets == self._forgets and size <= self._max_bytes and key not in self._models:
                self._models[key] = (model, size)
                self._bytes += size
                while len(self._models) > self._size or self._bytes > self._max_bytes:
                    self._drop(next(iter(self._models)))
        return model

    def _drop(self, key: tuple[str, int]) -> None:
        _, size = self._models.pop(key)
        self._bytes -= size

    def alias_version(self, name: str, alias: str) -> int:
        """The version `alias` of `name` names now; AliasNotFoundError if it names none."""
        self._catch_up()
        version = self._remembered(self._aliases, name, self._store.aliases).get(alias)
        if version is None:
            raise AliasNotFoundError(name, alias)
        return version

    def _latest_version(self, name: str) -> int:
        return self._remembered(self._latest, name, self._store.latest_version)

    def _remembered(self, memo: dict[str, T], name: str, load: Callable[[str], T]) -> T:
        """`memo[name]`, loaded from the store when missing. Kept only when nothing was
        forgotten while it loaded, and only when not empty: names without aliases, which
        anyone can ask about, take no memory."""
        with self._lock:
            if name in memo:
                return memo[name]
            forgets = self._forgets
        value = load(name)
        with self._lock:
            if forgets == self._forgets and value:
                memo.setdefault(name, value)
        return value

    def _catch_up(self) -> None:
        """Forget the names written since the change log was last read, here or elsewhere.
        Threads may catch up together: each applies changes from what it saw, and a newer
        generation already applied makes an older answer moot. While the store is unreachable
        the cache serves what it holds (no write can be acknowledged then); a miss still fails."""
        try:
            current = self._generations.current()
            with self._lock:
                if current <= self._generation:
                    return
                seen = self._generation
            generation, names = self._store.changes_since(seen)
        except StoreUnavailableError:
            return
        with self._lock:
            if generation <= self._generation:
                return
            self._generation = generation
            self._forgets += 1
            if names is None:  # the log no longer reaches back: anything may have changed
                self._latest.clear()
                self._aliases.clear()
                self._models.clear()
                self._bytes = 0
                return
            for name in names:
                self._latest.pop(name, None)
                self._aliases.pop(name, None)
            for key in [key for key in self._models if key[0] in names]:
                self._drop(key)

    @property
    def bytes(self) -> int:
        """What the cached models hold together, as `footprint` counts it."""
        with self._lock:
            return self._bytes

    def __len__(self) -> int:
        with self._lock:
            return len(self._models)
