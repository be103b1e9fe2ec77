"""What only the PostgreSQL store has: a versioned schema shared by replicas, a lazy driver."""

from __future__ import annotations

import subprocess
import sys

import psycopg
import pytest
from store_test_support import record, run_together

from gatelearn.server.stores import PostgresStore, SchemaVersionError
from gatelearn.server.stores.errors import StoreUnavailableError
from gatelearn.server.stores.postgres import SCHEMA_VERSION


def schema_versions(url: str) -> list[int]:
    with psycopg.connect(url) as connection:
        return [row[0] for row in connection.execute("SELECT version FROM gatelearn_schema")]


def test_a_new_database_gets_the_current_schema_version(postgres_url: str) -> None:
    PostgresStore(postgres_url).close()
    PostgresStore(postgres_url).close()  # a second start finds it and changes nothing
    assert schema_versions(postgres_url) == [SCHEMA_VERSION]


def test_replicas_starting_together_make_the_schema_once(postgres_url: str) -> None:
    stores = run_together([lambda: PostgresStore(postgres_url) for _ in range(6)])
    try:
        assert [store.save(record("m")).version for store in stores] == [1, 2, 3, 4, 5, 6]
    finally:
        for store in stores:
            store.close()
    assert schema_versions(postgres_url) == [SCHEMA_VERSION]


def test_a_schema_from_a_newer_gatelearn_is_refused_naming_both_versions(postgres_url: str) -> None:
    store = PostgresStore(postgres_url)
    store.save(record("kept"))
    store.close()
    newer = SCHEMA_VERSION + 41
    with psycopg.connect(postgres_url) as connection:
        connection.execute("UPDATE gatelearn_schema SET version = %s", (newer,))
    with pytest.raises(SchemaVersionError) as refused:
        PostgresStore(postgres_url)
    assert f"schema version {newer}" in str(refused.value)
    assert f"knows versions up to {SCHEMA_VERSION}" in str(refused.value)
    assert schema_versions(postgres_url) == [newer]  # left as it was found


def test_an_unreachable_database_is_named_in_the_error(postgres_url: str) -> None:
    missing = postgres_url.replace("/test_", "/absent_")
    with pytest.raises(StoreUnavailableError, match=r'database "absent_\d+" does not exist'):
        PostgresStore(missing, connect_timeout=5)


def test_without_psycopg_the_store_says_which_extra_to_install() -> None:
    # The module imports without psycopg (it is an optional extra); making a store says what
    # to install. sys.modules entries of None make those imports fail as if not installed.
    script = (
        "import sys; sys.modules['psycopg'] = sys.modules['psycopg_pool'] = None\n"
        "from gatelearn.server.stores import PostgresStore\n"
        "PostgresStore('postgresql:///unused')"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1
    last_line = done.stderr.strip().splitlines()[-1]
    assert last_line.startswith("ImportError: a PostgreSQL store needs psycopg 3 and psycopg-pool")
    assert "pip install 'gatelearn[postgres]'" in last_line


# What the migrations after the first add, undone (newest first).
SCHEMA_ONE_LACKS = (
    "DROP TABLE gatelearn_aliases",
    "DROP TABLE gatelearn_requests",
    "DROP TRIGGER gatelearn_models_changed ON gatelearn_models",
    "DROP FUNCTION gatelearn_log_change",
    "DROP TABLE gatelearn_changes, gatelearn_generation",
    "ALTER TABLE gatelearn_models DROP COLUMN summary",
)


def test_a_schema_one_database_gains_summaries_its_listing_reads(postgres_url: str) -> None:
    store = PostgresStore(postgres_url)
    store.save(record("old"))
    store.save(record("hurt"))
    store.close()
    with psycopg.connect(postgres_url) as connection:  # as the first schema left it
        for later in SCHEMA_ONE_LACKS:
            connection.execute(later)
        connection.execute("UPDATE gatelearn_models SET meta = 'not json' WHERE name = 'hurt'")
        connection.execute("UPDATE gatelearn_schema SET version = 1")
    store = PostgresStore(postgres_url)
    try:
        listed = {r.name: (r.task, r.sizes, r.metrics.loss) for r in store.list()}
        assert listed == {"old": ("xor", (2, 3, 1), 0.1), "hurt": ("", (), 0.0)}  # still damaged
        assert store.load("old").meta == record("old").meta
        assert store.generation() == 0  # the change log starts with the upgrade
        store.save(record("new"))
        assert store.changes_since(0) == (1, frozenset({"new"}))
    finally:
        store.close()
    assert schema_versions(postgres_url) == [SCHEMA_VERSION]
