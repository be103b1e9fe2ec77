"""A real PostgreSQL 16 for the tests: the `pgserver` package's binaries in a fresh temp dir.

Not a test module; tests/conftest.py imports its fixtures. One cluster per test session (it
starts in a few seconds); every test gets a database of its own. As root, pgserver runs
PostgreSQL as a `pgserver` system user it creates, and opens read/execute on the data
directory's parents: so the cluster lives in a new directory under the system temp dir, never
in a home or the repository. Under CI=true a PostgreSQL that cannot be had fails the test;
elsewhere the test is skipped, saying why.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import pytest

if TYPE_CHECKING:
    import psycopg

T = TypeVar("T")
START_TRIES = 3  # starts of a stopped server, when pg_ctl itself dies by a signal


def unavailable(reason: str) -> NoReturn:
    """Fail under CI, where nothing may be skipped for want of PostgreSQL; skip elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required under CI=true: {reason}", pytrace=False)
    pytest.skip(f"no PostgreSQL for this test: {reason} (pip install -e '.[test]')")


class PostgresCluster:
    """A running PostgreSQL server, reached through a Unix socket; hands out new databases."""

    def __init__(self, server: Any, directory: Path) -> None:
        self._server = server
        self._directory = directory
        self._numbers = itertools.count(1)

    def new_database(self) -> str:
        """Create an empty database and return its connection URL."""
        import psycopg

        name = f"test_{next(self._numbers)}"
        with psycopg.connect(self._server.get_uri(), autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return str(self._server.get_uri(database=name))

    def shut_down_immediately(self) -> None:
        """PostgreSQL's immediate shutdown (SIGQUIT to the postmaster, what `pg_ctl stop -m
        immediate` sends), as a crash would: connections drop, nothing is checkpointed, and
        the next start replays the write-ahead log. Returns once the postmaster is gone."""
        pid = self._server.get_pid()
        os.kill(pid, signal.SIGQUIT)
        deadline = time.monotonic() + 30
        while True:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"PostgreSQL (pid {pid}) still runs 30 s after SIGQUIT")
            time.sleep(0.02)

    def start_again(self) -> None:
        """Start the server after `shut_down_immediately`, on the same socket and data.

        pgserver's `pg_ctl` itself has died by a signal (SIGBUS, twice in some thirty suite
        runs) while starting the server again; that is the tool failing, not the database, so
        a start it killed is tried again, at most START_TRIES times in all."""
        for attempt in range(1, START_TRIES + 1):
            try:
                self._server.ensure_postgres_running()
                return
            except subprocess.CalledProcessError as error:
                if error.returncode >= 0 or attempt == START_TRIES:  # an exit, not a signal
                    raise

    def stop(self) -> None:
        """Stop the server at once (its data is thrown away, so no shutdown checkpoint is
        worth waiting for) and delete its directory."""
        with contextlib.suppress(ProcessLookupError):  # a test may have left it stopped
            os.kill(self._server.get_pid(), signal.SIGQUIT)  # PostgreSQL's "immediate shutdown"
        self._server.cleanup()  # waits for the server to be gone, then deletes its data
        shutil.rmtree(self._directory, ignore_errors=True)


def start_cluster() -> PostgresCluster:
    """Start PostgreSQL in a new temporary directory, or call `unavailable` saying why not."""
    try:
        with warnings.catch_warnings():
            # platformdirs warns that XDG_RUNTIME_DIR is unset (as for root); pgserver then uses
            # a directory under /tmp for its lock file, which is all it needs.
            warnings.simplefilter("ignore")
            import pgserver
        import psycopg  # noqa: F401  (the tests talk to the cluster through it)
    except ImportError as error:
        unavailable(f"{error}")
    directory = Path(tempfile.mkdtemp(prefix="gatelearn-pg-"))
    try:
        server = pgserver.get_server(directory / "pgdata", cleanup_mode="delete")
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return PostgresCluster(server, directory)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One PostgreSQL server for the whole session, stopped and deleted at its end."""
    cluster = start_cluster()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def own_postgres_cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL server for one test module alone, which its tests may stop and start."""
    cluster = start_cluster()
    yield cluster
    cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> str:
    """The URL of a new, empty database for this test alone."""
    return postgres_cluster.new_database()


# ---------------------------------------------------------------- provoking the store's errors

# The lock every write of the store takes first (see stores/postgres.py, "Lock order").
WRITERS_TURN = "SELECT 1 FROM gatelearn_generation FOR UPDATE"


def with_setting(url: str, setting: str) -> str:
    """`url` (which has a query already) with a session setting such as
    `statement_timeout=300` for every connection made with it."""
    return f"{url}&options=-c%20{setting.replace('=', '%3D')}"


def waiting_on_locks(url: str) -> int:
    """How many sessions of the database wait for a lock another holds."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        ).fetchone()
    assert row is not None
    return int(row[0])


@contextlib.contextmanager
def holding(url: str, statement: str) -> Iterator[psycopg.Connection[Any]]:
    """Another session holding the locks `statement` takes, until the block ends."""
    import psycopg

    with psycopg.connect(url) as connection:
        connection.execute(statement)
        yield connection
        connection.rollback()


def deadlock_once(url: str, delete_m_1: Callable[[], T]) -> T:
    """Run `delete_m_1` (a delete of m:1 through the store) into a deadlock with another
    session, whose own deadlock_timeout is long, so the store's transaction is the one the
    database rolls back; what it returned. The other session ends once it has its locks."""
    from conftest import poll  # here: conftest imports this module

    with holding(url, "SELECT 1 FROM gatelearn_models WHERE version = 1 FOR UPDATE") as other:
        other.execute("SET deadlock_timeout = '30s'")

        def take_the_turn() -> None:
            poll(lambda: waiting_on_locks(url) == 1, 10.0, "the store to wait for m:1")
            other.execute(WRITERS_TURN)  # waits for the store, which waits for m:1: a cycle
            other.rollback()

        with ThreadPoolExecutor(1) as executor:
            other_session = executor.submit(take_the_turn)
            try:
                return delete_m_1()
            finally:
                other_session.result(timeout=60)
