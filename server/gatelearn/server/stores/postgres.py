"""The model store on PostgreSQL, so several servers (replicas) can share one database.

It keeps the promises of the Store protocol (gatelearn.server.stores.base): a version is
written in one transaction and visible only complete; a name's version numbers only increase,
even after deletes, because they come from its row in `gatelearn_names`, which a save updates
under a row lock, so concurrent saves from any replica get distinct versions without error;
weights are the same `pack_arrays` blobs, read back without pickle. The schema carries its
version and is created or upgraded on start under an advisory lock. psycopg is the optional extra
`gatelearn[postgres]`, imported when a store is made.

Lock order: every write transaction (save, delete, set_alias, delete_alias) first locks the
one row of `gatelearn_generation`, the change log's counter, which each of them updates anyway;
only then does it touch names, versions, request ids, aliases or the version count. So writers
take turns, from that first statement to commit, and no two can each hold a lock the other
waits for: a delete cascading to a request id a retried save claims, or a delete racing an
alias set, once deadlocked. Reads take no locks and never wait for writers. A write is short
(one version's row at most), so taking turns costs little next to what it rules out.

Errors (one place, `_connection`; postgres_errors says what each means): a database that
cannot be reached is StoreUnavailableError, and wakes the health monitor; a pool whose every
connection is in use is StoreBusyError; a statement past `statement_timeout` or `lock_timeout`
is StoreTimeoutError; a deadlock or serialization failure, which the database rolled back
whole, is retried up to WRITE_ATTEMPTS times in all, then StoreConflictError. Nothing else is
retried once a statement has run, so nothing is saved twice. A connection lost while its
COMMIT was on the way leaves the outcome unknown: the error says the write may or may not have
completed. The pool checks a connection before handing it out and keeps trying to reconnect,
so the store recovers on its own when the database is back.
"""

from __future__ import annotations

import builtins
import contextlib
import random
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from gatelearn.server.stores.base import REQUEST_RETENTION, Store
from gatelearn.server.stores.changes import Changes, changes_after
from gatelearn.server.stores.errors import (
    AliasInUseError,
    AliasNotFoundError,
    ModelNotFoundError,
    RequestSavedError,
    SchemaVersionError,
    StoreBusyError,
    StoreConflictError,
    StoreFullError,
    StoreUnavailableError,
)
from gatelearn.server.stores.location import redacted
from gatelearn.server.stores.meta import ModelMeta
from gatelearn.server.stores.postgres_errors import store_error
from gatelearn.server.stores.records import (
    ModelRecord,
    ModelSummary,
    decode_record,
    stored_summary,
    summary_text,
    with_aliases,
)

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

__all__ = ["POOL_SIZE", "SCHEMA_VERSION", "PostgresStore"]

T = TypeVar("T")


def _add_summaries(connection: psycopg.Connection[Any]) -> None:
    """Fill the new summary column from each stored row's metadata (what a listing reads)."""
    rows = connection.execute("SELECT name, version, meta FROM gatelearn_models").fetchall()
    for name, version, meta_text in rows:
        if (summary := stored_summary(meta_text)) is not None:
            connection.execute(
                "UPDATE gatelearn_models SET summary = %s WHERE name = %s AND version = %s",
                (summary, name, version),
            )


# Migration n (counting from 1) takes the schema from version n - 1 to n; a new database runs
# them all. A step is a statement, or a function given the connection for what SQL cannot say.
# Tables carry a prefix so the store can share a database with other applications; names sort
# bytewise (COLLATE "C"), as in SQLite, whatever the database's locale.
_Step = str | Callable[["psycopg.Connection[Any]"], None]
_MIGRATIONS: tuple[tuple[_Step, ...], ...] = (
    (
        "CREATE TABLE gatelearn_schema (one boolean PRIMARY KEY DEFAULT true CHECK (one), "
        "version integer NOT NULL)",
        "INSERT INTO gatelearn_schema (version) VALUES (0)",
        'CREATE TABLE gatelearn_names (name text COLLATE "C" PRIMARY KEY, '
        "last_version integer NOT NULL)",
        'CREATE TABLE gatelearn_models (name text COLLATE "C" NOT NULL, version integer NOT NULL, '
        "created_at double precision NOT NULL, meta text NOT NULL, request bytea, "
        "weights bytea NOT NULL, PRIMARY KEY (name, version))",
        # One row counting the versions, so `max_models` is checked exactly (see save_packed).
        "CREATE TABLE gatelearn_model_count (one boolean PRIMARY KEY DEFAULT true CHECK (one), "
        "versions bigint NOT NULL CHECK (versions >= 0))",
        "INSERT INTO gatelearn_model_count (versions) VALUES (0)",
    ),
    # What ListModels shows, kept apart from `meta` so listing never reads histories or tables.
    ("ALTER TABLE gatelearn_models ADD COLUMN summary text", _add_summaries),
    # The change log (see stores.changes). Generations come from one counter row updated by
    # the writing transaction, not from a sequence: the row lock, held to commit, hands them
    # out in commit order, where a sequence's numbers can commit out of order and a reader
    # would skip the slower one. The trigger keeps the last 10000 entries (CHANGES_KEPT).
    (
        "CREATE TABLE gatelearn_generation (one boolean PRIMARY KEY DEFAULT true CHECK (one), "
        "generation bigint NOT NULL)",
        "INSERT INTO gatelearn_generation (generation) VALUES (0)",
        'CREATE TABLE gatelearn_changes (generation bigint PRIMARY KEY, name text COLLATE "C" '
        "NOT NULL)",
        """CREATE FUNCTION gatelearn_log_change() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            logged bigint;
            changed text;
        BEGIN
            IF TG_OP = 'DELETE' THEN changed := OLD.name; ELSE changed := NEW.name; END IF;
            UPDATE gatelearn_generation SET generation = generation + 1
                RETURNING generation INTO logged;
            INSERT INTO gatelearn_changes (generation, name) VALUES (logged, changed);
            DELETE FROM gatelearn_changes WHERE generation <= logged - 10000;
            RETURN NULL;
        END $$""",
        "CREATE TRIGGER gatelearn_models_changed AFTER INSERT OR DELETE ON gatelearn_models "
        "FOR EACH ROW EXECUTE FUNCTION gatelearn_log_change()",
    ),
    # Request ids of saves, kept REQUEST_RETENTION seconds or until their version is deleted.
    (
        'CREATE TABLE gatelearn_requests (request_id text COLLATE "C" PRIMARY KEY, '
        'name text COLLATE "C" NOT NULL, version integer NOT NULL, '
        "created_at double precision NOT NULL, FOREIGN KEY (name, version) "
        "REFERENCES gatelearn_models (name, version) ON DELETE CASCADE)",
        "CREATE INDEX gatelearn_requests_by_age ON gatelearn_requests (created_at)",
        "CREATE INDEX gatelearn_requests_by_model ON gatelearn_requests (name, version)",
    ),
    # Aliases naming versions; each write is logged like a model's, so caches forget the name.
    (
        'CREATE TABLE gatelearn_aliases (name text COLLATE "C" NOT NULL, '
        'alias text COLLATE "C" NOT NULL, version integer NOT NULL, PRIMARY KEY (name, alias))',
        "CREATE TRIGGER gatelearn_aliases_changed AFTER INSERT OR UPDATE OR DELETE ON "
        "gatelearn_aliases FOR EACH ROW EXECUTE FUNCTION gatelearn_log_change()",
    ),
)
SCHEMA_VERSION = len(_MIGRATIONS)
POOL_SIZE = 4  # connections a store (one server) opens at most
CHECKOUT_TIMEOUT = 5.0  # seconds a call waits for a pooled connection before UNAVAILABLE
PING_TIMEOUT = 2.0  # the same for `ping`: the health monitor should hear of an outage soon
# While the database is known unreachable a call waits only this long, so callers hear
# UNAVAILABLE at once rather than after the full checkout timeout.
OUTAGE_CHECKOUT_TIMEOUT = 0.5
# Seconds the pool keeps retrying a lost connection in the background (with growing pauses)
# before it gives up; the next checkout (the health monitor pings every second) starts afresh,
# so recovery is never held back by a long pause.
RECONNECT_TIMEOUT = 3.0
_SCHEMA_LOCK = int.from_bytes(b"gatelear", "big")  # advisory lock key held while migrating
WRITE_ATTEMPTS = 3  # tries of a write the database rolled back for meeting concurrent writes
CONFLICT_PAUSE = 0.05  # seconds, at most, before the second try (twice that before the third)

# The first statement of every write transaction: see "Lock order" above.
_TAKE_TURN = "SELECT 1 FROM gatelearn_generation FOR UPDATE"

_NEXT_VERSION = (
    "INSERT INTO gatelearn_names AS n (name, last_version) VALUES (%s, 1) "
    "ON CONFLICT (name) DO UPDATE SET last_version = n.last_version + 1 RETURNING last_version"
)
_INSERT = (
    "INSERT INTO gatelearn_models (name, version, created_at, meta, request, weights, summary) "
    "VALUES (%s, %s, %s, %s, %b, %b, %s)"
)
# No row comes back when the store is full: the save is then rolled back whole.
_COUNT_ONE_MORE = (
    "UPDATE gatelearn_model_count SET versions = versions + 1 "
    "WHERE %(limit)s::bigint IS NULL OR versions < %(limit)s RETURNING versions"
)
_COLUMNS = "name, version, created_at, meta, request, weights"
# Expired request ids, skipping rows another save is deleting: saves never wait on each other
# (or deadlock) here.
_PRUNE_REQUESTS = (
    "DELETE FROM gatelearn_requests WHERE request_id IN (SELECT request_id FROM "
    "gatelearn_requests WHERE created_at < %s FOR UPDATE SKIP LOCKED)"
)
# Waits for a concurrent save claiming the same id to end; no row back: the id is taken.
_CLAIM_REQUEST = (
    "INSERT INTO gatelearn_requests (request_id, name, version, created_at) "
    "VALUES (%s, %s, %s, %s) ON CONFLICT (request_id) DO NOTHING RETURNING version"
)
_SAVED_FOR = (
    "SELECT name, version FROM gatelearn_requests WHERE request_id = %s AND created_at >= %s"
)
_GENERATION = "SELECT generation FROM gatelearn_generation"
_CHANGES = (
    f"SELECT ({_GENERATION}), (SELECT MIN(generation) FROM gatelearn_changes), "
    "ARRAY(SELECT DISTINCT name FROM gatelearn_changes WHERE generation > %s)"
)


def _driver() -> tuple[Any, type[ConnectionPool[Any]]]:
    """psycopg and its pool class, or an ImportError saying which extra to install."""
    try:
        import psycopg
        from psycopg_pool import ConnectionPool
    except ImportError as error:
        raise ImportError(
            f"a PostgreSQL store needs psycopg 3 and psycopg-pool: "
            f"pip install 'gatelearn[postgres]' ({error})"
        ) from None
    return psycopg, ConnectionPool


def _schema_version(connection: psycopg.Connection[Any]) -> int:
    """The schema version the database holds; 0 when it has no gatelearn tables yet."""
    (table,) = _one(connection.execute("SELECT to_regclass('gatelearn_schema')"))
    if table is None:
        return 0
    return int(_one(connection.execute("SELECT version FROM gatelearn_schema"))[0])


def _prepare_schema(connection: psycopg.Connection[Any]) -> None:
    """Create or upgrade the schema in one transaction, or refuse one from a newer gatelearn;
    the advisory lock makes replicas starting together take turns."""
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        found = _schema_version(connection)
        if found > SCHEMA_VERSION:
            raise SchemaVersionError(found, SCHEMA_VERSION)
        if found == SCHEMA_VERSION:
            return
        for statements in _MIGRATIONS[found:]:
            for step in statements:
                if isinstance(step, str):
                    connection.execute(step)
                else:
                    step(connection)
        connection.execute("UPDATE gatelearn_schema SET version = %s", (SCHEMA_VERSION,))


def _claim(connection: psycopg.Connection[Any], request_id: str, name: str, version: int) -> None:
    """Keep `request_id` for this save's version, in its transaction, pruning expired ids;
    RequestSavedError (rolling the save back) when a kept save already has it."""
    now = time.time()
    connection.execute(_PRUNE_REQUESTS, (now - REQUEST_RETENTION,))
    while request_id:  # again only if the holder's version was deleted as we looked
        if connection.execute(_CLAIM_REQUEST, (request_id, name, version, now)).fetchone():
            return
        if found := connection.execute(_SAVED_FOR, (request_id, 0)).fetchone():
            raise RequestSavedError(request_id, found[0], int(found[1]))


def _one(cursor: psycopg.Cursor[Any]) -> tuple[Any, ...]:
    row = cursor.fetchone()
    assert row is not None, "a query that always yields a row yielded none"
    return tuple(row)


class PostgresStore(Store):
    """Stored models by name and version in a PostgreSQL database. Safe to share between
    threads, and between processes and machines using the same database."""

    remote = True

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = POOL_SIZE,
        connect_timeout: int = 10,
        on_unavailable: Callable[[], None] | None = None,
    ) -> None:
        """Connect to `url` (`postgresql://...`), prepare the schema, open a connection pool.
        `on_unavailable` is called whenever a call finds the database unreachable."""
        psycopg, pool_class = _driver()
        self._url = redacted(url)
        self._on_unavailable = on_unavailable
        self._reachable = True
        # One connection first: a refused port, a wrong password or a missing database is said
        # at once and plainly, where the pool would keep retrying until its timeout.
        try:
            psycopg.connect(url, autocommit=True, connect_timeout=connect_timeout).close()
        except psycopg.OperationalError as error:
            raise StoreUnavailableError(
                f"cannot reach PostgreSQL at {self._url}: {str(error).strip()}"
            ) from None
        # Autocommit: a read is one statement; a write opens its transaction explicitly.
        self._pool = pool_class(
            url,
            min_size=1,
            max_size=pool_size,
            open=False,
            kwargs={"autocommit": True, "connect_timeout": connect_timeout},
            check=pool_class.check_connection,  # a connection the database dropped is replaced
            reconnect_timeout=RECONNECT_TIMEOUT,
        )
        try:
            self._pool.open(wait=True, timeout=connect_timeout)
            with self._pool.connection(timeout=connect_timeout) as connection:
                _prepare_schema(connection)
        except BaseException as error:
            self._pool.close()  # else its threads outlive the store that failed to start
            if isinstance(error, psycopg.OperationalError):  # a PoolTimeout is one too
                raise StoreUnavailableError(
                    f"cannot prepare the gatelearn schema in PostgreSQL at {self._url}: "
                    f"{str(error).strip()}"
                ) from None
            raise

    def close(self) -> None:
        self._pool.close()

    @contextlib.contextmanager
    def _connection(self, timeout: float = CHECKOUT_TIMEOUT) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection; a driver error becomes the store error saying what it means
        (postgres_errors). Only an unreachable database shortens later checkouts and wakes the
        health monitor. Nothing is retried here: a caller's statements run at most once."""
        driver, _ = _driver()
        if not self._reachable:
            timeout = min(timeout, OUTAGE_CHECKOUT_TIMEOUT)
        connection: psycopg.Connection[Any] | None = None
        try:
            with self._pool.connection(timeout=timeout) as connection:
                self._reachable = True
                yield connection
        except (driver.OperationalError, driver.InterfaceError) as error:
            # An InterfaceError on a connection still open is a bug, and stays one.
            if (
                isinstance(error, driver.InterfaceError)
                and connection is not None
                and not (connection.closed or connection.broken)
            ):
                raise
            # No connection: the checkout timed out, busy pool or unreachable database.
            pool = self._pool.get_stats() if connection is None else None
            failure = store_error(error, f"PostgreSQL at {self._url}", pool=pool)
            if isinstance(failure, StoreUnavailableError):
                self._reachable = False
                if self._on_unavailable is not None:
                    self._on_unavailable()
            raise failure from error

    def _write(self, what: str, body: Callable[[psycopg.Connection[Any]], T]) -> T:
        """`body` as one write transaction, whose first statement takes the writers' turn; tried
        again (WRITE_ATTEMPTS in all) while the database rolls it back for a deadlock or a
        serialization failure, which undid all of it, so a second try does nothing twice."""
        attempt = 1
        while True:
            try:
                with self._transaction(what) as connection:
                    connection.execute(_TAKE_TURN)
                    return body(connection)
            except StoreConflictError as error:
                if attempt == WRITE_ATTEMPTS:
                    raise StoreConflictError(
                        f"{error}; {what} was not done (tries: {attempt}): retry it"
                    ) from error.__cause__
            time.sleep(random.uniform(0, CONFLICT_PAUSE * attempt))  # jitter: two writers meet less
            attempt += 1

    @contextlib.contextmanager
    def _transaction(self, what: str) -> Iterator[psycopg.Connection[Any]]:
        """One write transaction. If the connection is lost while it commits, the error says
        that `what` may or may not have been done: the database may have committed it."""
        committing = False
        try:
            with self._connection() as connection, connection.transaction():
                yield connection
                committing = True
        except StoreUnavailableError as error:
            if not committing:
                raise
            raise StoreUnavailableError(
                f"{error}; the connection was lost while committing, so {what} may or may not "
                f"have completed: retry with the same request id, which answers the version "
                f"if it was saved"
            ) from error.__cause__

    def ping(self) -> None:
        """Return when the database answers `SELECT 1`, or when every pooled connection is in
        use (calls are being answered); StoreUnavailableError if it cannot be reached."""
        with contextlib.suppress(StoreBusyError), self._connection(PING_TIMEOUT) as connection:
            connection.execute("SELECT 1")

    def saved_for(self, request_id: str) -> tuple[str, int] | None:
        """The (name, version) a save with `request_id` stored, if it is kept and exists."""
        with self._connection() as connection:
            found = connection.execute(
                _SAVED_FOR, (request_id, time.time() - REQUEST_RETENTION)
            ).fetchone()
        return None if found is None else (found[0], int(found[1]))

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

        With `max_models`, StoreFullError (and nothing saved) when the store already holds that
        many versions; with `request_id`, RequestSavedError (and nothing saved) when that id is
        kept. Writers take turns (see "Lock order"), so both checks are exact under concurrent
        saves from any replica. `meta_text` as in `Store`.
        """
        meta_text = meta_text or meta.to_text()
        summary = summary_text(meta)
        created_at = time.time() if created_at is None else created_at

        def save(connection: psycopg.Connection[Any]) -> int:
            (version,) = _one(connection.execute(_NEXT_VERSION, (name,)))
            connection.execute(
                _INSERT, (name, version, created_at, meta_text, request, weights, summary)
            )
            _claim(connection, request_id, name, version)
            if connection.execute(_COUNT_ONE_MORE, {"limit": max_models}).fetchone() is None:
                raise StoreFullError(max_models or 0)
            return int(version)

        return self._write(f"saving {name!r}", save)

    def load(self, name: str, version: int = 0) -> ModelRecord:
        """Return a stored version (the latest when `version` is 0)."""
        query = f"SELECT {_COLUMNS} FROM gatelearn_models WHERE name = %s "
        args: tuple[Any, ...] = (name,)
        if version:
            query += "AND version = %s"
            args = (name, version)
        else:
            query += "ORDER BY version DESC LIMIT 1"
        with self._connection() as connection:
            row = connection.execute(query, args, binary=True).fetchone()
        if row is None:
            raise ModelNotFoundError(name, version)
        return decode_record(*row)

    def latest_version(self, name: str) -> int:
        """The newest stored version of `name`; ModelNotFoundError if it has none."""
        with self._connection() as connection:
            (latest,) = _one(
                connection.execute(
                    "SELECT MAX(version) FROM gatelearn_models WHERE name = %s", (name,)
                )
            )
        if latest is None:
            raise ModelNotFoundError(name)
        return int(latest)

    def count(self) -> int:
        """How many versions are stored, all names together."""
        with self._connection() as connection:
            return int(_one(connection.execute("SELECT versions FROM gatelearn_model_count"))[0])

    def delete(self, name: str, version: int = 0) -> list[int]:
        """Delete one version, or every version when `version` is 0; return what was deleted."""
        condition, args = (
            ("name = %s AND version = %s", (name, version)) if version else ("name = %s", (name,))
        )

        def delete(connection: psycopg.Connection[Any]) -> list[int]:
            # Writers take turns: an alias set before this turn has committed and is seen.
            if named := dict(
                connection.execute(
                    f"SELECT alias, version FROM gatelearn_aliases WHERE {condition}", args
                )
            ):
                raise AliasInUseError(name, named)
            deleted = sorted(
                row[0]
                for row in connection.execute(
                    f"DELETE FROM gatelearn_models WHERE {condition} RETURNING version", args
                )
            )
            if deleted:
                connection.execute(
                    "UPDATE gatelearn_model_count SET versions = versions - %s", (len(deleted),)
                )
            return deleted

        deleted = self._write(f"deleting {name!r}", delete)
        if not deleted:
            raise ModelNotFoundError(name, version)
        return deleted

    def set_alias(
        self, name: str, alias: str, version: int, *, max_aliases: int | None = None
    ) -> int:
        """Point `alias` of `name` at `version`; the version it named before (0: it is new).
        Writers take turns (see "Lock order"), so the count is exact and no delete of the
        version runs between the check that it exists and the commit."""

        def set_alias(connection: psycopg.Connection[Any]) -> int:
            if (
                connection.execute(
                    "SELECT 1 FROM gatelearn_models WHERE name = %s AND version = %s",
                    (name, version),
                ).fetchone()
                is None
            ):
                raise ModelNotFoundError(name, version)
            row = connection.execute(
                "SELECT version FROM gatelearn_aliases WHERE name = %s AND alias = %s",
                (name, alias),
            ).fetchone()
            if (
                row is None
                and max_aliases is not None
                and _one(connection.execute("SELECT COUNT(*) FROM gatelearn_aliases"))[0]
                >= max_aliases
            ):
                raise StoreFullError(max_aliases, "aliases", "max_aliases")
            if row is None or row[0] != version:
                connection.execute(
                    "INSERT INTO gatelearn_aliases (name, alias, version) VALUES (%s, %s, %s) "
                    "ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version",
                    (name, alias, version),
                )
            return 0 if row is None else int(row[0])

        return self._write(f"setting alias {alias!r} of {name!r}", set_alias)

    def delete_alias(self, name: str, alias: str) -> int:
        """Remove an alias; the version it named."""

        def delete_alias(connection: psycopg.Connection[Any]) -> int:
            row = connection.execute(
                "DELETE FROM gatelearn_aliases WHERE name = %s AND alias = %s RETURNING version",
                (name, alias),
            ).fetchone()
            if row is None:
                raise AliasNotFoundError(name, alias)
            return int(row[0])

        return self._write(f"deleting alias {alias!r} of {name!r}", delete_alias)

    def aliases(self, name: str) -> dict[str, int]:
        """Every alias of `name` and the version it names."""
        with self._connection() as connection:
            return dict(
                connection.execute(
                    "SELECT alias, version FROM gatelearn_aliases WHERE name = %s", (name,)
                )
            )

    def generation(self) -> int:
        """The change log's newest generation (0 before any write): one single-row read."""
        with self._connection() as connection:
            return int(_one(connection.execute(_GENERATION))[0])

    def changes_since(self, generation: int) -> Changes:
        """The newest generation and the names changed after `generation` (see `changes`):
        one statement, so one snapshot."""
        with self._connection() as connection:
            current, oldest, names = _one(connection.execute(_CHANGES, (generation,)))
        return changes_after(generation, int(current), oldest, names)

    # Last in the class: once defined, `list` in an annotation here would mean this method.
    def list(self, name: str = "") -> builtins.list[ModelSummary]:
        """Every version of `name`, or the latest version of every name; their summaries, read
        from a column of their own (nothing else is read)."""
        if name:
            query = (
                "SELECT name, version, created_at, summary FROM gatelearn_models "
                "WHERE name = %s ORDER BY version"
            )
            args: tuple[Any, ...] = (name,)
        else:
            query = (
                "SELECT DISTINCT ON (name) name, version, created_at, summary "
                "FROM gatelearn_models ORDER BY name, version DESC"
            )
            args = ()
        aliases = "SELECT name, version, alias FROM gatelearn_aliases"
        with self._connection() as connection, connection.transaction():
            # One snapshot for both reads, so an alias never names a version not listed.
            connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            rows = connection.execute(query, args).fetchall()
            named = connection.execute(
                aliases + (" WHERE name = %s" if name else ""), args
            ).fetchall()
        return with_aliases([ModelSummary.from_row(*row) for row in rows], named)
