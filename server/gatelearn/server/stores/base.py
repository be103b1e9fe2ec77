"""The Store protocol: what the services need from a model store, whatever keeps the data.

Every backend keeps the same promises, checked by one contract suite (tests/stores): a save is
one transaction and visible only complete; a name's version numbers only ever increase, even
after deletes; weights are `pack_arrays` bytes read back without pickle; a listing reads only
each version's summary; every write is in the change log (`changes`) when it commits; a
save's request id is kept with its version for REQUEST_RETENTION seconds (and while the version
exists), so a retried save returns that version instead of storing another. An alias names one
version of a name; moving it is one write, so a reader sees the old or the new version, and no
delete removes a version an alias names.
"""

from __future__ import annotations

import builtins
from typing import Protocol

from gatelearn.server.stores.changes import Changes
from gatelearn.server.stores.meta import ModelMeta
from gatelearn.server.stores.records import ModelRecord, ModelSummary, pack_arrays

__all__ = ["REQUEST_RETENTION", "Store"]

# Seconds a save's request id is kept: a retry within it returns the version saved for it.
REQUEST_RETENTION = 24 * 3600


class Store(Protocol):
    """Stored models by name and version; safe to share between threads."""

    # True when a read may wait on another machine (a database server, or its outage): the
    # server then answers no call on its event loop, where every other call would wait too.
    remote: bool = False

    def close(self) -> None:
        """Release the store's connections; no call may follow."""

    def ping(self) -> None:
        """Return when the store answers, or is busy answering other calls; a
        StoreTransientError (StoreUnavailableError when it cannot be reached) otherwise."""

    def save(
        self, record: ModelRecord, *, max_models: int | None = None, request_id: str = ""
    ) -> ModelRecord:
        """Store `record` as the next version of its name; return it with that version.
        With `max_models`, StoreFullError and nothing saved when the store already holds that
        many versions, checked in the save's own transaction (exact under concurrent saves).
        With `request_id`, RequestSavedError and nothing saved when a save with that id is
        kept (checked in the transaction too, so of concurrent saves with one id one wins).
        Backends inherit this: it packs the arrays and calls `save_packed`."""
        record.version = self.save_packed(
            record.name,
            record.meta,
            pack_arrays(record.weights, record.biases, record.state),
            record.request,
            record.created_at,
            max_models=max_models,
            request_id=request_id,
        )
        return record

    def save_packed(
        self,
        name: str,
        meta: ModelMeta,
        weights: bytes,
        request: bytes | None,
        created_at: float | None = None,
        *,
        max_models: int | None = None,
        request_id: str = "",
        meta_text: str = "",
    ) -> int:
        """Store a version whose weights are already `pack_arrays` bytes; return its number.
        `max_models` and `request_id` as for `save`; `meta_text` is `meta.to_text()` when the
        caller has it already (a training worker sends it), so it is not encoded again."""

    def saved_for(self, request_id: str) -> tuple[str, int] | None:
        """The (name, version) a save with `request_id` stored, if it is kept and exists."""

    def load(self, name: str, version: int = 0) -> ModelRecord:
        """A stored version (the latest when `version` is 0); ModelNotFoundError if none,
        CorruptModelError if it cannot be read back, NewerModelError if a newer gatelearn
        wrote it."""

    def latest_version(self, name: str) -> int:
        """The newest stored version of `name`; ModelNotFoundError if it has none."""

    def list(self, name: str = "") -> builtins.list[ModelSummary]:
        """Every version of `name`, or the latest version of every name, by name then version:
        only their summaries are read, each with the aliases naming that version."""

    def count(self) -> int:
        """How many versions are stored, all names together."""

    def delete(self, name: str, version: int = 0) -> builtins.list[int]:
        """Delete one version, or every version when `version` is 0; the versions deleted, or
        ModelNotFoundError when there were none. AliasInUseError, and nothing deleted, when
        an alias names one of them (checked in the delete's transaction)."""

    def set_alias(
        self, name: str, alias: str, version: int, *, max_aliases: int | None = None
    ) -> int:
        """Point `alias` of `name` at `version`, creating or moving it in one transaction; the
        version it named before (0: it is new). ModelNotFoundError when that version is not
        stored; with `max_aliases`, StoreFullError when a new alias would pass that many."""

    def delete_alias(self, name: str, alias: str) -> int:
        """Remove an alias; the version it named, or AliasNotFoundError."""

    def aliases(self, name: str) -> dict[str, int]:
        """Every alias of `name` and the version it names."""

    def generation(self) -> int:
        """The change log's newest generation: cheap, read before every cached Predict."""

    def changes_since(self, generation: int) -> Changes:
        """The newest generation and the names written or deleted after `generation`, or None
        for the names when the log no longer reaches back that far."""
