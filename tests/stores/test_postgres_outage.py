"""The PostgreSQL store while its database is away: every call raises StoreUnavailableError
(UNAVAILABLE at the edge), never a driver error; a commit whose outcome is unknown says so; once
the database is back the same store works again, without being reopened."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from conftest import poll
from postgres_support import PostgresCluster
from store_test_support import record

from gatelearn.server.stores import PostgresStore
from gatelearn.server.stores.errors import StoreUnavailableError
from gatelearn.server.stores.postgres import RECONNECT_TIMEOUT

CALLS: dict[str, Callable[[PostgresStore], Any]] = {
    "save": lambda store: store.save(record("down")),
    "load": lambda store: store.load("kept"),
    "latest_version": lambda store: store.latest_version("kept"),
    "list": lambda store: store.list(),
    "count": lambda store: store.count(),
    "delete": lambda store: store.delete("kept"),
    "ping": lambda store: store.ping(),
}


@pytest.fixture
def outage_url(own_postgres_cluster: PostgresCluster) -> str:
    return own_postgres_cluster.new_database()


@pytest.fixture
def store(outage_url: str) -> Iterator[tuple[PostgresStore, threading.Event]]:
    """A store with one saved model, and an event its `on_unavailable` sets."""
    noticed = threading.Event()
    opened = PostgresStore(
        outage_url.replace("postgres:@", "postgres:s3cret@", 1), on_unavailable=noticed.set
    )
    opened.save(record("kept"))
    yield opened, noticed
    opened.close()


def answers(store: PostgresStore) -> bool:
    try:
        store.ping()
    except StoreUnavailableError:
        return False
    return True


def test_every_call_is_unavailable_while_the_database_is_down_and_works_once_it_is_back(
    own_postgres_cluster: PostgresCluster, store: tuple[PostgresStore, threading.Event]
) -> None:
    opened, noticed = store
    own_postgres_cluster.shut_down_immediately()
    try:
        for what, call in CALLS.items():
            with pytest.raises(StoreUnavailableError) as refused:
                call(opened)
            message = str(refused.value)
            shown = "the model store (PostgreSQL at postgresql://postgres:***@"
            assert message.startswith(shown), (what, message)
            assert "s3cret" not in message
        assert noticed.is_set()
        # Longer than the pool retries in the background: it must not be left for dead.
        threading.Event().wait(RECONNECT_TIMEOUT + 1.0)
        assert not answers(opened)
    finally:
        own_postgres_cluster.start_again()
    poll(lambda: answers(opened), 15.0, "the store to answer again")
    assert opened.load("kept").name == "kept"
    assert opened.save(record("kept")).version == 2
    assert [summary.version for summary in opened.list("kept")] == [1, 2]


@contextlib.contextmanager
def connection_lost_on_insert(url: str, *, at_commit: bool) -> Iterator[None]:
    """Really lose the store's connection: a trigger on each saved row makes its server process
    terminate itself, on the INSERT or, deferred, during COMMIT."""
    timing = "DEFERRABLE INITIALLY DEFERRED" if at_commit else ""
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(
            "CREATE OR REPLACE FUNCTION lose() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NULL; END $$"
        )
        admin.execute(
            f"CREATE CONSTRAINT TRIGGER lose AFTER INSERT ON gatelearn_models {timing} "
            "FOR EACH ROW EXECUTE FUNCTION lose()"
        )
        try:
            yield
        finally:
            admin.execute("DROP TRIGGER lose ON gatelearn_models")


def test_a_connection_lost_while_committing_says_the_save_may_not_have_completed(
    outage_url: str, store: tuple[PostgresStore, threading.Event]
) -> None:
    opened, _ = store
    with (
        connection_lost_on_insert(outage_url, at_commit=True),
        pytest.raises(
            StoreUnavailableError,
            match="lost while committing, so saving 'lost' may or may not have completed",
        ),
    ):
        opened.save(record("lost"))
    # Here the database rolled it back; the store carries on with a new connection.
    assert [summary.name for summary in opened.list()] == ["kept"]
    assert opened.save(record("lost")).version == 1


def test_a_save_failing_before_commit_is_reported_as_not_saved(
    outage_url: str, store: tuple[PostgresStore, threading.Event]
) -> None:
    opened, _ = store
    with (
        connection_lost_on_insert(outage_url, at_commit=False),
        pytest.raises(StoreUnavailableError) as refused,
    ):
        opened.save(record("lost"))
    assert "may or may not" not in str(refused.value)
    assert [summary.name for summary in opened.list()] == ["kept"]
