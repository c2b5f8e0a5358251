"""The database: its schema is the migration chain, whichever road builds it; bad files refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from pbt_tracker.errors import NoDatabaseError, SchemaTooNewError, StoreError
from pbt_tracker.store import open_store
from pbt_tracker.store import schema as chain
from tests.conftest import query

SCHEMA_HEAD = chain.head()


def test_new_workdir_gets_a_database_at_the_current_schema(tmp_path: Path) -> None:
    store = open_store(tmp_path / "work")
    store.close()
    db = tmp_path / "work" / "pbt_tracker.db"
    assert query(db, "SELECT version_num FROM alembic_version") == [(SCHEMA_HEAD,)]
    tables = {name for (name,) in query(db, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"launches", "experiments", "scripts", "submissions", "state_changes"} <= tables


def test_the_chain_pbt_track_runs_is_alembics_chain() -> None:
    """Revision ids are the file names' numbers, one after the other, and the newest is alembic's head."""
    script = ScriptDirectory.from_config(chain.alembic_config())
    assert script.get_current_head() == SCHEMA_HEAD
    walked = [revision.revision for revision in script.walk_revisions()][::-1]
    assert walked == chain.revisions()
    for revision in walked:
        module = chain.migration(revision)
        assert module.revision == revision
        assert module.down_revision == (None if revision == walked[0] else walked[walked.index(revision) - 1])


def migrated(db: Path) -> Path:
    """A database built by alembic running every migration in turn, as an old workdir gets upgraded."""
    sqlite3.connect(db).close()
    chain.upgrade(db)
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


def test_a_new_database_gets_exactly_the_schema_alembic_builds(tmp_path: Path) -> None:
    open_store(tmp_path / "new").close()
    new, old = tmp_path / "new" / "pbt_tracker.db", migrated(tmp_path / "old.db")
    assert schema(new) == schema(old)
    assert query(new, "SELECT type, name, sql FROM sqlite_master ORDER BY name") == query(
        old, "SELECT type, name, sql FROM sqlite_master ORDER BY name"
    )


def test_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    connection = store.connection
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert connection.execute("PRAGMA busy_timeout").fetchone()[0] == 30000
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
    assert schema(db)["tables"] == schema(migrated(tmp_path / "new.db"))["tables"]


@pytest.mark.parametrize("target", ["0006", "0005", "0004", "0003", "0002", "0001"])
def test_each_migration_goes_down_and_up_again(tmp_path: Path, target: str) -> None:
    db = migrated(tmp_path / "pbt_tracker.db")
    chain.downgrade(db, target)
    assert query(db, "SELECT version_num FROM alembic_version") == [(target,)]
    down = schema(db)
    built = tmp_path / "built.db"
    sqlite3.connect(built).close()
    chain.upgrade(built, target)
    assert down == schema(built)
    chain.upgrade(db)
    assert schema(db) == schema(migrated(tmp_path / "again.db"))


def _pending_submissions(store, count: int) -> list[int]:  # type: ignore[no-untyped-def]
    from pbt_tracker.store import utcnow, writes

    now = utcnow()
    with store.write() as connection:
        launch = writes.insert(connection, "launches", {
            "run_name": "r", "run_module": "m", "backend": "slurm", "workdir": str(store.workdir), "train_dir": "t",
            "experiment_suffix": "", "options": {}, "print_only": False, "hostname": "h", "username": "u",
            "pbt_track_version": "0", "created_at": now})
        submissions = []
        for position in range(count):
            experiment = writes.insert(connection, "experiments", {
                "launch_id": launch, "position": position, "name": f"e{position}", "base_name": f"e{position}",
                "cmd": "true", "params": {}, "root_dir": "r", "train_dir": "t"})
            submissions.append(writes.insert(connection, "submissions", {
                "experiment_id": experiment, "attempt": 1, "argv": [], "state": "PENDING", "job_id": str(7 + position),
                "intended_at": now, "updated_at": now}))
    return submissions


def test_two_syncs_that_read_the_same_state_apply_one_change_and_log_it_once(tmp_path: Path) -> None:
    """Compare-and-set: the second sync read PENDING too, but the row is RUNNING by the time it writes."""
    from pbt_tracker.store import utcnow, writes

    first, second = open_store(tmp_path), open_store(tmp_path)
    now = utcnow()
    (submission,) = _pending_submissions(first, 1)
    with first.write() as connection:
        assert writes.change_state(connection, submission, "PENDING", "RUNNING", now, "squeue") is True
    with second.write() as connection:
        assert writes.change_state(connection, submission, "PENDING", "RUNNING", now, "squeue") is False
        assert writes.change_state(connection, submission, "PENDING", "CANCELLED", now, "late") is False
    first.close()
    second.close()
    db = tmp_path / "pbt_tracker.db"
    assert query(db, "SELECT state FROM submissions") == [("RUNNING",)]
    assert query(db, "SELECT state, detail FROM state_changes") == [("RUNNING", "squeue")]


def test_a_batch_of_state_changes_applies_only_those_whose_expected_state_still_holds(tmp_path: Path) -> None:
    """The batched compare-and-set: a row another process moved on since it was read keeps its state and log."""
    from pbt_tracker.store import utcnow, writes

    store = open_store(tmp_path)
    now = utcnow()
    first, second, third = _pending_submissions(store, 3)
    with store.write() as connection:
        writes.change_state(connection, second, "PENDING", "RUNNING", now, "squeue", node="n1")
    with store.write() as connection:
        applied = writes.change_states(connection, [
            (first, "PENDING", "CANCELLED", "sacct", {"exit_code": 0, "exit_signal": 15}),
            (second, "PENDING", "CANCELLED", "sacct", {"exit_code": 0, "exit_signal": 15}),
            (third, "PENDING", "PENDING", None, {"pending_reason": "JobHeldUser"}),
        ], now)
    store.close()
    assert applied == [True, False, True]
    db = tmp_path / "pbt_tracker.db"
    assert query(db, "SELECT id, state, node, exit_code, exit_signal, pending_reason FROM submissions ORDER BY id") == [
        (first, "CANCELLED", None, 0, 15, None), (second, "RUNNING", "n1", None, None, None),
        (third, "PENDING", None, None, None, "JobHeldUser"),
    ]
    assert query(db, "SELECT submission_id, state, detail FROM state_changes ORDER BY id") == [
        (second, "RUNNING", "squeue"), (first, "CANCELLED", "sacct"),
    ]


def test_alike_changes_of_many_submissions_write_what_one_change_each_would(tmp_path: Path) -> None:
    """One values object shared by several submissions (an array's tasks in one record) is one statement for all
    of them; the compare still holds for each, and each gets its own history row."""
    from pbt_tracker.store import utcnow, writes
    from pbt_tracker.store.run_values import RunValues

    store = open_store(tmp_path)
    now = utcnow()
    ids = _pending_submissions(store, 5)
    with store.write() as connection:
        writes.change_state(connection, ids[1], "PENDING", "RUNNING", now, "squeue", node="n1")
    cancelled = RunValues(exit_code=0, exit_signal=15, pending_reason=None)
    with store.write() as connection:
        applied = writes.change_states(connection, [
            *((submission_id, "PENDING", "CANCELLED", "squeue", cancelled) for submission_id in ids[:4]),
            (ids[4], "PENDING", "CANCELLED", "sacct", RunValues(exit_code=1)),
        ], now)
    store.close()
    assert applied == [True, False, True, True, True]
    db = tmp_path / "pbt_tracker.db"
    assert query(db, "SELECT id, state, node, exit_code, exit_signal FROM submissions ORDER BY id") == [
        (ids[0], "CANCELLED", None, 0, 15), (ids[1], "RUNNING", "n1", None, None),
        (ids[2], "CANCELLED", None, 0, 15), (ids[3], "CANCELLED", None, 0, 15), (ids[4], "CANCELLED", None, 1, None),
    ]
    assert sorted(query(db, "SELECT submission_id, state, detail FROM state_changes WHERE state = 'CANCELLED'")) == [
        (ids[0], "CANCELLED", "squeue"), (ids[2], "CANCELLED", "squeue"), (ids[3], "CANCELLED", "squeue"),
        (ids[4], "CANCELLED", "sacct"),
    ]


@pytest.mark.parametrize(("template", "sends"), [
    ("#!/bin/bash\n#SBATCH --hold\n#SBATCH --job-name=x\n$CMD\n", False),
    ("#!/bin/bash\ntimeout $TIMEOUT $CMD\nif [[ $$? -eq 124 ]]; then\n    sbatch --parsable $FILENAME\nfi\n", True),
    ("#!/bin/bash\ntimeout $TIMEOUT $CMD || pbt-track continue --workdir w --job $$SLURM_JOB_ID\n", True),
    ("#!/bin/bash\ntimeout $TIMEOUT $CMD || $PBT_TRACK continue --workdir w --job $$SLURM_JOB_ID\n", True),
    ("#!/bin/bash\ntimeout $TIMEOUT $CMD || ${PBT_TRACK} continue --workdir w --job $$SLURM_JOB_ID\n", True),
    (None, False),
])
def test_a_template_sends_successors_when_it_runs_sbatch_or_pbt_track_continue_not_for_its_directives(
    tmp_path: Path, template: str | None, sends: bool
) -> None:
    from pbt_tracker.store import queries, utcnow, writes

    store = open_store(tmp_path)
    with store.write() as connection:
        writes.insert(connection, "launches", {
            "run_name": "r", "run_module": "m", "backend": "slurm", "workdir": str(tmp_path), "train_dir": "t",
            "experiment_suffix": "", "options": {}, "print_only": False, "hostname": "h", "username": "u",
            "pbt_track_version": "0", "created_at": utcnow(), "template_text": template})
    with store.read() as connection:
        assert queries.jobs_send_successors(connection) is sends
    store.close()


def test_a_record_may_change_until_slurm_has_forgotten_an_end_it_may_requeue(tmp_path: Path) -> None:
    """A report then still syncs, so that it shows Slurm's own requeue, however long ago the end was recorded.

    Only two answers at least CONFIRM_GAP_SECONDS apart that lack the job end the watch; a completed job gives
    a report no reason to sync.
    """
    from datetime import timedelta

    from pbt_tracker import states
    from pbt_tracker.store import queries, utcnow, writes
    from pbt_tracker.store.sync import tracked_jobs

    store = open_store(tmp_path)
    (submission,) = _pending_submissions(store, 1)
    now = utcnow()
    gap = timedelta(seconds=states.CONFIRM_GAP_SECONDS)
    steps = [
        ("ended just now", now, "NODE_FAIL", {}),
        ("ended two hours ago, no answer since", now - timedelta(hours=2), "NODE_FAIL", {}),
        ("lacked by one answer", now, "NODE_FAIL", {"unseen_since": now, "unseen_count": 1}),
        ("lacked by two answers a moment apart", now + gap / 2, "NODE_FAIL", {"unseen_count": 2}),
        ("lacked by answers more than the gap apart", now + gap * 2, "NODE_FAIL", {"unseen_count": 3}),
        ("completed", now, "COMPLETED", {"unseen_since": None, "unseen_count": 0}),
    ]
    answers = {}
    for step, moment, state, values in steps:
        with store.write() as connection:
            writes.change_state(connection, submission, None, state, moment, "sacct", **values)
        with store.read() as connection:
            answers[step] = (queries.may_change(connection), len(tracked_jobs(connection, "slurm")))
    store.close()
    assert answers == {
        "ended just now": (True, 1), "ended two hours ago, no answer since": (True, 1),
        "lacked by one answer": (True, 1), "lacked by two answers a moment apart": (True, 1),
        "lacked by answers more than the gap apart": (False, 0), "completed": (False, 0),
    }
