"""The database: created at the current schema, migrations in step with the models, bad files refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory

from pbt_tracker.errors import NoDatabaseError, SchemaTooNewError, StoreError
from pbt_tracker.store import open_store
from pbt_tracker.store.engine import SCHEMA_HEAD, make_engine
from pbt_tracker.store.migrate import alembic_config, upgrade
from tests.conftest import query


def test_new_workdir_gets_a_database_at_the_current_schema(tmp_path: Path) -> None:
    store = open_store(tmp_path / "work")
    store.close()
    db = tmp_path / "work" / "pbt_tracker.db"
    assert query(db, "SELECT version_num FROM alembic_version") == [(SCHEMA_HEAD,)]
    tables = {name for (name,) in query(db, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"launches", "experiments", "scripts", "submissions", "state_changes"} <= tables


def test_schema_head_constant_is_alembics_head() -> None:
    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == SCHEMA_HEAD


def migrated(db: Path) -> Path:
    """A database built by running every migration in turn, as an old workdir gets upgraded."""
    engine = make_engine(db)
    with engine.begin() as connection:
        upgrade(connection)
    engine.dispose()
    return db


def schema(db: Path) -> dict[str, object]:
    tables = [name for (name,) in query(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    return {
        "tables": {
            table: {
                "columns": query(db, f"SELECT name, type, \"notnull\", pk FROM pragma_table_info('{table}')"),
                "foreign_keys": sorted(query(db, f"SELECT \"table\", \"from\", \"to\", on_delete "
                                                 f"FROM pragma_foreign_key_list('{table}')")),
                "indexes": sorted(query(db, f"SELECT name, \"unique\" FROM pragma_index_list('{table}')")),
            }
            for table in tables
        },
        "views": query(db, "SELECT name, sql FROM sqlite_master WHERE type = 'view'"),
        "version": query(db, "SELECT version_num FROM alembic_version"),
    }


def test_models_and_migrations_describe_the_same_schema(tmp_path: Path) -> None:
    engine = make_engine(migrated(tmp_path / "pbt_tracker.db"))
    with engine.connect() as connection:
        command.check(alembic_config(connection))  # raises if autogenerate would find a difference
    engine.dispose()


def test_a_new_database_gets_exactly_the_schema_the_migrations_build(tmp_path: Path) -> None:
    open_store(tmp_path / "new").close()
    assert schema(tmp_path / "new" / "pbt_tracker.db") == schema(migrated(tmp_path / "old.db"))


def test_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    store.close()


def test_opening_twice_keeps_the_data(tmp_path: Path) -> None:
    open_store(tmp_path).close()
    sqlite3.connect(tmp_path / "pbt_tracker.db").execute("CREATE TABLE keep_me (x)").connection.commit()
    open_store(tmp_path).close()
    assert query(tmp_path / "pbt_tracker.db", "SELECT name FROM sqlite_master WHERE name='keep_me'") == [("keep_me",)]


def test_database_from_a_newer_pbt_track_is_refused_and_left_alone(tmp_path: Path) -> None:
    open_store(tmp_path).close()
    db = tmp_path / "pbt_tracker.db"
    connection = sqlite3.connect(db)
    connection.execute("UPDATE alembic_version SET version_num = '0099'")
    connection.commit()
    connection.close()
    with pytest.raises(SchemaTooNewError) as excinfo:
        open_store(tmp_path)
    assert str(excinfo.value) == (
        f"{db} was written by a newer pbt-track (schema 0099, this one knows up to {SCHEMA_HEAD}); "
        "upgrade pbt-track (pip install -U pbt-track) to use it"
    )
    assert query(db, "SELECT version_num FROM alembic_version") == [("0099",)]


def test_a_file_that_is_not_sqlite_is_refused_and_not_overwritten(tmp_path: Path) -> None:
    db = tmp_path / "pbt_tracker.db"
    db.write_bytes(b"these are not the rows you are looking for")
    with pytest.raises(StoreError) as excinfo:
        open_store(tmp_path)
    assert str(excinfo.value) == (
        f"{db} is not a SQLite database; move it aside and start again, or restore it from a backup"
    )
    assert db.read_bytes() == b"these are not the rows you are looking for"


def test_a_truncated_database_is_refused(tmp_path: Path) -> None:
    open_store(tmp_path).close()
    db = tmp_path / "pbt_tracker.db"
    for leftover in tmp_path.glob("pbt_tracker.db-*"):
        leftover.unlink()
    db.write_bytes(db.read_bytes()[:1500])
    with pytest.raises(StoreError, match="is not a readable pbt-track database"):
        open_store(tmp_path)


def test_reading_a_workdir_without_a_database_says_so_and_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(NoDatabaseError) as excinfo:
        open_store(tmp_path, create=False)
    assert str(excinfo.value) == (
        f"no pbt-track database in {tmp_path} (looked for pbt_tracker.db); "
        "pass the --workdir of a launch, or set PBT_TRACK_WORKDIR"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_workdir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "work").write_text("")
    with pytest.raises(StoreError) as excinfo:
        open_store(tmp_path / "work")
    assert str(excinfo.value) == f"workdir {tmp_path / 'work'} is a file, not a directory; choose another --workdir"


def test_a_database_written_at_schema_0001_is_upgraded_with_its_rows(tmp_path: Path) -> None:
    """tests/data/schema_0001.db: a print-only launch of tests.fixtures.pbt_echo by pbt-track 0.1.0 at schema 0001."""
    db = tmp_path / "pbt_tracker.db"
    db.write_bytes((Path(__file__).parent / "data" / "schema_0001.db").read_bytes())
    open_store(tmp_path).close()
    assert query(db, "SELECT version_num FROM alembic_version") == [(SCHEMA_HEAD,)]
    assert query(db, "SELECT run, experiment, attempt, state FROM experiment_status ORDER BY experiment") == [
        ("echo_pbt", "00_echo_pbt", 1, "PRINT_ONLY"),
        ("echo_pbt", "01_echo_pbt", 1, "PRINT_ONLY"),
        ("echo_pbt", "02_echo_pbt", 1, "PRINT_ONLY"),
    ]
    assert query(db, "SELECT count(*) FROM cancellations") == [(0,)]


def test_the_arrays_migration_goes_down_and_up_again(tmp_path: Path) -> None:
    engine = make_engine(migrated(tmp_path / "pbt_tracker.db"))
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0003")
    assert "array_id" not in {name for (name,) in query(tmp_path / "pbt_tracker.db",
                                                        "SELECT name FROM pragma_table_info('submissions')")}
    assert query(tmp_path / "pbt_tracker.db", "SELECT name FROM sqlite_master WHERE name = 'slurm_arrays'") == []
    with engine.begin() as connection:
        upgrade(connection)
    engine.dispose()
    assert schema(tmp_path / "pbt_tracker.db") == schema(migrated(tmp_path / "again.db"))
