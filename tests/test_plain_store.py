"""A launch's road to the database: plain sqlite3, the same schema and rows as SQLAlchemy's, no SQLAlchemy import."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import JSON

from pbt_tracker.errors import SchemaTooNewError
from pbt_tracker.store import open_store, tables
from pbt_tracker.store.plain import JSON_COLUMNS, SCHEMA_HEAD, open_plain_store
from tests.conftest import REPO_ROOT, query, run_with_modules
from tests.test_store import migrated, schema

def submit(tmp_path: Path, work: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    return run_with_modules("submit", "--run", "tests.fixtures.pbt_echo", "--backend", "slurm", "--workdir",
                            str(work), "--slurm_print_only", "true", "--train_dir", str(tmp_path / "t"), *extra)


def test_a_slurm_launch_never_imports_sqlalchemy(tmp_path: Path) -> None:
    done, modules = submit(tmp_path, tmp_path / "w", "--slurm-array")
    assert done.returncode == 0, done.stderr
    assert {name for name in modules if name.split(".")[0] in {"sqlalchemy", "alembic"}} == set()
    assert query(tmp_path / "w" / "pbt_tracker.db", "SELECT count(*) FROM submissions") == [(3,)]


def test_a_new_database_from_a_launch_has_exactly_the_schema_the_migrations_build(tmp_path: Path) -> None:
    open_plain_store(tmp_path / "new").close()
    assert schema(tmp_path / "new" / "pbt_tracker.db") == schema(migrated(tmp_path / "old.db"))


def test_json_columns_written_by_hand_are_the_tables_json_columns() -> None:
    declared = {
        table.name: frozenset(column.name for column in table.columns if isinstance(column.type, JSON))
        for table in tables.metadata.sorted_tables
    }
    assert {name: columns for name, columns in declared.items() if columns} == JSON_COLUMNS


def test_rows_written_by_a_launch_read_back_through_the_models(tmp_path: Path) -> None:
    from sqlalchemy import select

    from pbt_tracker.store.models import Launch, Submission

    done, _ = submit(tmp_path, tmp_path / "w")
    assert done.returncode == 0, done.stderr
    store = open_store(tmp_path / "w")
    with store.transaction() as session:
        launch = session.scalars(select(Launch)).one()
        submissions = session.scalars(select(Submission).order_by(Submission.id)).all()
        assert launch.options["slurm_print_only"] is True and launch.print_only is True
        assert [experiment.params for experiment in launch.experiments] == [
            {"pbt.policy_idx": 0}, {"pbt.policy_idx": 1}, {"pbt.policy_idx": 2}
        ]
        assert launch.experiments[0].env_vars is None
        assert [s.argv[-1] for s in submissions] == [
            str(tmp_path / "w" / f"sbatch_0{i}_echo_pbt.sh") for i in range(3)
        ]
        assert submissions[0].intended_at == submissions[0].state_changes[0].observed_at
    store.close()


def test_a_launch_into_an_old_workdir_upgrades_it_first(tmp_path: Path) -> None:
    work = tmp_path / "w"
    work.mkdir()
    shutil.copy(REPO_ROOT / "tests" / "data" / "schema_0001.db", work / "pbt_tracker.db")
    done, _ = submit(tmp_path, work)
    assert done.returncode == 0, done.stderr
    db = work / "pbt_tracker.db"
    assert query(db, "SELECT version_num FROM alembic_version") == [(SCHEMA_HEAD,)]
    assert query(db, "SELECT count(*) FROM submissions") == [(6,)]


def test_a_launch_into_a_workdir_of_a_newer_pbt_track_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    work = tmp_path / "w"
    open_plain_store(work).close()
    db = work / "pbt_tracker.db"
    connection = sqlite3.connect(db)
    connection.execute("UPDATE alembic_version SET version_num = '0099'")
    connection.commit()
    connection.close()
    with pytest.raises(SchemaTooNewError):
        open_plain_store(work)
    done, _ = submit(tmp_path, work)
    assert (done.returncode, done.stderr.splitlines()[0]) == (1, (
        f"Error: {db} was written by a newer pbt-track (schema 0099, this one knows up to {SCHEMA_HEAD}); "
        "upgrade pbt-track (pip install -U pbt-track) to use it"
    ))
    assert query(db, "SELECT count(*) FROM launches") == [(0,)]
    assert query(db, "SELECT version_num FROM alembic_version") == [("0099",)]


def test_answers_are_written_together_when_the_batch_is_flushed(tmp_path: Path) -> None:
    from pbt_tracker.slurm import CommandResult, SubmitOutcome
    from pbt_tracker.tracker.record import Answers

    done, _ = submit(tmp_path, tmp_path / "w")
    assert done.returncode == 0, done.stderr
    db = tmp_path / "w" / "pbt_tracker.db"
    store = open_plain_store(tmp_path / "w")
    lines: list[str] = []
    answers = Answers(store, lines.append, max_wait=3600)
    for submission_id, job_id in ((1, "41"), (2, "42")):
        result = CommandResult(["sbatch"], 0, f"{job_id}\n", "")
        answers.add(submission_id, f"exp{submission_id}", ["sbatch"], SubmitOutcome(result, job_id=job_id))
    failure = SubmitOutcome(CommandResult(["sbatch"], 1, "", "sbatch: error: no\n"), error="sbatch exited with 1: no")
    answers.add(3, "exp3", ["sbatch"], failure)
    assert query(db, "SELECT state, job_id FROM submissions ORDER BY id") == [("PRINT_ONLY", None)] * 3
    answers.flush()
    store.close()
    assert query(db, "SELECT state, job_id, submit_stderr FROM submissions ORDER BY id") == [
        ("SUBMITTED", "41", ""), ("SUBMITTED", "42", ""), ("SUBMIT_FAILED", None, "sbatch: error: no\n")
    ]
    assert lines == ["Submitted exp1 as job 41", "Submitted exp2 as job 42",
                     "sbatch failed for exp3: sbatch exited with 1: no"]
    assert query(db, "SELECT count(DISTINCT observed_at) FROM state_changes WHERE state != 'PRINT_ONLY'") == [(1,)]


def test_answers_older_than_max_wait_are_written_without_waiting_for_a_flush(tmp_path: Path) -> None:
    from pbt_tracker.slurm import CommandResult, SubmitOutcome
    from pbt_tracker.tracker.record import Answers

    done, _ = submit(tmp_path, tmp_path / "w")
    assert done.returncode == 0, done.stderr
    store = open_plain_store(tmp_path / "w")
    answers = Answers(store, max_wait=0)
    answers.add(1, "exp1", ["sbatch"], SubmitOutcome(CommandResult(["sbatch"], 0, "41\n", ""), job_id="41"))
    assert query(tmp_path / "w" / "pbt_tracker.db", "SELECT state, job_id FROM submissions WHERE id = 1") == [
        ("SUBMITTED", "41")
    ]
    store.close()
