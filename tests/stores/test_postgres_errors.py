"""The PostgreSQL store tells its failures apart, each provoked on a real database: a busy pool
is not an outage, a statement past the database's timeout says so, a deadlock is tried again,
and a failure while preparing the schema leaves no pool running."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from conftest import poll
from postgres_support import WRITERS_TURN, deadlock_once, holding, waiting_on_locks, with_setting
from store_test_support import record

from gatelearn.server.stores import PostgresStore, postgres
from gatelearn.server.stores.errors import (
    StoreBusyError,
    StoreConflictError,
    StoreTimeoutError,
    StoreUnavailableError,
)

SHOWN = "PostgreSQL at postgresql://postgres:***@"  # how the store names the database


def with_password(url: str) -> str:
    """The test database's URL with a password in it, which no message may show."""
    return url.replace("postgres:@", "postgres:s3cret@", 1)


@pytest.fixture
def noticed() -> threading.Event:
    """Set by a store's `on_unavailable`: it must stay clear unless the database is away."""
    return threading.Event()


def open_store(url: str, noticed: threading.Event, **settings: Any) -> PostgresStore:
    store = PostgresStore(with_password(url), on_unavailable=noticed.set, **settings)
    store.save(record("m"))
    return store


def test_a_pool_with_every_connection_in_use_is_busy_not_unreachable(
    postgres_url: str, noticed: threading.Event
) -> None:
    store = open_store(postgres_url, noticed, pool_size=1)
    try:
        with holding(postgres_url, WRITERS_TURN) as other:
            # The pool's one connection waits for the writers' turn, held by `other`.
            blocked = threading.Thread(target=store.delete, args=("m", 1))
            blocked.start()
            poll(lambda: waiting_on_locks(postgres_url) == 1, 10.0, "the delete to wait")
            with pytest.raises(StoreBusyError) as refused:
                store.load("m")
            message = str(refused.value)
            assert message.startswith(f"the model store ({SHOWN}")
            assert "is busy: all 1 of this server's connections to it are in use" in message
            assert "s3cret" not in message
            store.ping()  # busy answering calls is answering: health stays SERVING
            other.rollback()
            blocked.join(timeout=30)
        assert not blocked.is_alive()
        assert not noticed.is_set()
        assert store.count() == 0
    finally:
        store.close()


@pytest.mark.parametrize("setting", ["statement_timeout", "lock_timeout"])
def test_a_statement_past_the_databases_timeout_is_named_and_changes_nothing(
    postgres_url: str, noticed: threading.Event, setting: str
) -> None:
    store = open_store(with_setting(postgres_url, f"{setting}=300"), noticed)
    try:
        before = store.generation()
        with holding(postgres_url, WRITERS_TURN), pytest.raises(StoreTimeoutError) as refused:
            store.save(record("m"))
        assert f"cancelled a statement past the database's {setting}" in str(refused.value)
        assert "nothing was done" in str(refused.value)
        assert (store.count(), store.generation()) == (1, before)
        assert not noticed.is_set()
        assert store.save(record("m")).version == 2
    finally:
        store.close()


def test_a_write_rolled_back_for_a_deadlock_is_tried_again_and_completes(
    postgres_url: str, noticed: threading.Event
) -> None:
    store = open_store(postgres_url, noticed)
    try:
        assert deadlock_once(postgres_url, lambda: store.delete("m", 1)) == [1]
        assert store.count() == 0
        assert not noticed.is_set()
    finally:
        store.close()


def test_a_write_that_deadlocks_on_every_try_is_a_conflict_and_does_nothing(
    postgres_url: str, noticed: threading.Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres, "WRITE_ATTEMPTS", 1)
    store = open_store(postgres_url, noticed)
    try:
        with pytest.raises(StoreConflictError) as refused:
            deadlock_once(postgres_url, lambda: store.delete("m", 1))
        assert "(deadlock: deadlock detected" in str(refused.value)
        assert "deleting 'm' was not done (tries: 1): retry it" in str(refused.value)
        assert store.count() == 1
        assert not noticed.is_set()
    finally:
        store.close()


def test_a_failure_while_preparing_the_schema_is_named_and_leaves_no_pool_running(
    postgres_url: str,
) -> None:
    before = set(threading.enumerate())
    # Another server holds the schema lock (as while it migrates); this one gives up waiting.
    with (
        holding(postgres_url, f"SELECT pg_advisory_lock({postgres._SCHEMA_LOCK})"),  # noqa: SLF001
        pytest.raises(StoreUnavailableError) as refused,
    ):
        PostgresStore(with_password(with_setting(postgres_url, "lock_timeout=200")))
    message = str(refused.value)
    assert message.startswith(f"cannot prepare the gatelearn schema in {SHOWN}")
    assert "lock timeout" in message
    assert "s3cret" not in message
    assert set(threading.enumerate()) <= before
