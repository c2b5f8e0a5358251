"""What is checked when, on a record that may be damaged, and a new record never shows up empty."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from pbt_tracker.errors import StoreError
from pbt_tracker.store import open_store
from pbt_tracker.store import schema, schema_head
from pbt_tracker.store.soundness import built_schema_tables, schema_tables

INSERT_CANCELLATION = (
    "INSERT INTO cancellations (selection, job_ids, argv, requested_at) VALUES ('{}', '[]', '[]', '2026-01-01')"
)


def _damage_page_of(db: Path, table: str) -> None:
    import sqlite3

    connection = sqlite3.connect(db)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    (root,) = connection.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()
    (page_size,) = connection.execute("PRAGMA page_size").fetchone()
    connection.close()
    with db.open("r+b") as handle:
        handle.seek((root - 1) * page_size + 8)
        handle.write(bytes(range(256)) * ((page_size - 8) // 256) + b"\xff" * ((page_size - 8) % 256))


def test_a_damaged_page_outside_launches_is_found_before_the_first_write_and_nothing_is_written(tmp_path: Path) -> None:
    """Reads do not pay for checking every page; the first write of an open does, inside the write lock."""
    store = open_store(tmp_path)
    with store.write() as connection:
        connection.execute(INSERT_CANCELLATION)
    store.close()
    db = tmp_path / "pbt_tracker.db"
    _damage_page_of(db, "cancellations")
    before = db.read_bytes()

    store = open_store(tmp_path, create=False)  # an open that only reads is not refused
    try:
        with pytest.raises(StoreError, match=r"is damaged \(quick_check: .*\); pbt-track will not write to it"):
            with store.write() as connection:
                connection.execute(INSERT_CANCELLATION)
    finally:
        store.close()
    assert db.read_bytes() == before


def test_the_schema_tables_are_every_table_and_view_of_a_new_record(tmp_path: Path) -> None:
    import sqlite3

    open_store(tmp_path).close()
    connection = sqlite3.connect(tmp_path / "pbt_tracker.db")
    names = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
    connection.close()
    assert schema_tables() == names
    assert {"launches", "submissions", "experiment_status", "alembic_version"} <= names


def test_the_head_and_tables_every_open_checks_are_the_migration_chains() -> None:
    """Written down so that an open reads no migration; a new migration fails here until they are updated."""
    assert schema_head.HEAD == schema.head()
    assert schema_head.TABLES == schema_tables() == built_schema_tables()


def test_processes_creating_one_record_at_once_all_open_it_and_leave_no_temporary_file(tmp_path: Path) -> None:
    """The record is built aside and linked into place, so nobody meets it empty; the second creator uses the first's."""
    workdir = tmp_path / "new"
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def open_one() -> None:
        start.wait()
        try:
            open_store(workdir).close()
        except BaseException as error:  # noqa: BLE001 - collected for the assertion below
            errors.append(error)

    threads = [threading.Thread(target=open_one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(path.name for path in workdir.iterdir() if not path.name.startswith("pbt_tracker.db")) == []


def test_the_tables_every_open_checks_are_those_a_database_built_by_the_chain_has() -> None:
    from pbt_tracker.store import soundness

    soundness.schema_tables.cache_clear()
    assert soundness.schema_tables() == soundness.built_schema_tables()
    assert {"launches", "submissions", "experiment_status", "alembic_version"} <= soundness.schema_tables()


def test_the_table_names_follow_creates_and_drops_in_order_and_a_rename_falls_back_to_a_build(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from types import SimpleNamespace

    from pbt_tracker.store import schema, soundness

    chain = {
        "0001": ("CREATE TABLE a (x INTEGER)", "\nCREATE VIEW v AS SELECT x FROM a", "CREATE INDEX ix_a ON a (x)"),
        "0002": ("create table if not exists b (y INTEGER)", "DROP VIEW v", "DROP TABLE IF EXISTS a"),
    }
    monkeypatch.setattr(schema, "revisions", lambda: sorted(chain))
    monkeypatch.setattr(schema, "migration", lambda revision: SimpleNamespace(UPGRADE=chain[revision]))
    monkeypatch.setattr(soundness, "built_schema_tables", lambda: frozenset({"built"}))
    soundness.schema_tables.cache_clear()
    try:
        assert soundness.schema_tables() == {"alembic_version", "b"}
        chain["0002"] = ("ALTER TABLE a RENAME TO c",)
        soundness.schema_tables.cache_clear()
        assert soundness.schema_tables() == {"built"}
    finally:
        soundness.schema_tables.cache_clear()


def _array_sent_by_a_stand_in(tmp_path: Path, fake_bin) -> Path:  # type: ignore[no-untyped-def]
    """A Slurm launch of three experiments sent as array 4242 by a stand-in sbatch; its workdir."""
    from click.testing import CliRunner

    from pbt_tracker.cli import cli

    fake_bin("sbatch", '#!/bin/sh\necho "4242"\n')
    work = tmp_path / "work"
    assert CliRunner().invoke(cli, ["submit", "--run", "tests.fixtures.pbt_echo", "--backend", "slurm", "--workdir",
                                    str(work), "--pause_between", "0", "--train_dir", str(tmp_path / "t"),
                                    "--slurm_array", "true"]).exit_code == 0
    return work


def test_a_sync_checks_every_page_while_squeue_answers_and_writes_nothing_to_a_damaged_record(  # type: ignore[no-untyped-def]
    in_repo: Path, tmp_path: Path, fake_bin
) -> None:
    """Stand-ins: sbatch, and a squeue that answers only once told to, which a real one is too quick to show.

    The check of every page that comes before a sync's first write runs while squeue is out: on a large
    record it costs as much as the scheduler call. A damage it finds stops the sync before any write.
    """
    from click.testing import CliRunner

    from pbt_tracker.cli import cli
    from tests.conftest import file_digest

    work = _array_sent_by_a_stand_in(tmp_path, fake_bin)
    db = work / "pbt_tracker.db"
    _damage_page_of(db, "state_changes")  # a table this sync does not read
    before = file_digest(db)
    calls, release = tmp_path / "calls", tmp_path / "release"
    fake_bin("squeue", f'#!/bin/sh\necho asked >> {calls}\nfor i in $(seq 100); do [ -e {release} ] && break; '
                       f'sleep 0.1; done\necho answered >> {calls}\n')
    try:
        result = CliRunner().invoke(cli, ["sync", "--workdir", str(work)])
        said = calls.read_text().splitlines() if calls.exists() else []
    finally:
        release.touch()

    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {db} is damaged (quick_check: ")
    assert "answered" not in said  # refused before squeue's answer, which it did not wait for
    assert file_digest(db) == before


def test_a_cancel_checks_every_page_while_it_loads_and_stops_nothing_on_a_damaged_record(  # type: ignore[no-untyped-def]
    in_repo: Path, tmp_path: Path, fake_bin
) -> None:
    """Stand-ins: sbatch and scancel. The check that comes before a cancel's request is written runs on a
    connection of its own while the cancel's modules load; a damage it finds stops the cancel before scancel."""
    from click.testing import CliRunner

    from pbt_tracker.cli import cli
    from tests.conftest import file_digest

    work = _array_sent_by_a_stand_in(tmp_path, fake_bin)
    db = work / "pbt_tracker.db"
    _damage_page_of(db, "state_changes")  # a table the cancel does not read before its first write
    before = file_digest(db)
    calls = tmp_path / "calls"
    fake_bin("scancel", f'#!/bin/sh\necho "scancel $@" >> {calls}\n')

    result = CliRunner().invoke(cli, ["cancel", "--all", "--workdir", str(work)])

    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {db} is damaged (quick_check: ")
    assert len(result.output.splitlines()) == 1
    assert not calls.exists()
    assert file_digest(db) == before
