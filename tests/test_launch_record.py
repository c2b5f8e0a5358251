"""What a launch writes: its rows, on the standard library's sqlite3 alone, into new and old workdirs."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from pbt_tracker.errors import SchemaTooNewError
from pbt_tracker.store import open_store
from tests.conftest import REPO_ROOT, query, run_with_modules
from tests.test_store import SCHEMA_HEAD


def submit(tmp_path: Path, work: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    return run_with_modules("submit", "--run", "tests.fixtures.pbt_echo", "--backend", "slurm", "--workdir",
                            str(work), "--slurm_print_only", "true", "--train_dir", str(tmp_path / "t"), *extra)


def test_a_slurm_launch_never_imports_sqlalchemy(tmp_path: Path) -> None:
    done, modules = submit(tmp_path, tmp_path / "w", "--slurm-array")
    assert done.returncode == 0, done.stderr
    assert {name for name in modules if name.split(".")[0] in {"sqlalchemy", "alembic"}} == set()
    assert query(tmp_path / "w" / "pbt_tracker.db", "SELECT count(*) FROM submissions") == [(3,)]


def test_rows_written_by_a_launch_hold_json_and_utc_times(tmp_path: Path) -> None:
    done, _ = submit(tmp_path, tmp_path / "w")
    assert done.returncode == 0, done.stderr
    db = tmp_path / "w" / "pbt_tracker.db"
    assert query(db, "SELECT json_extract(options, '$.slurm_print_only'), print_only FROM launches") == [(1, 1)]
    assert query(db, "SELECT params, env_vars FROM experiments ORDER BY position") == [
        ('{"pbt.policy_idx": 0}', None), ('{"pbt.policy_idx": 1}', None), ('{"pbt.policy_idx": 2}', None)
    ]
    assert [argv for (argv,) in query(db, "SELECT json_extract(argv, '$[#-1]') FROM submissions ORDER BY id")] == [
        str(tmp_path / "w" / f"sbatch_0{i}_echo_pbt.sh") for i in range(3)
    ]
    ((intended, observed),) = query(db, "SELECT s.intended_at, c.observed_at FROM submissions AS s "
                                        "JOIN state_changes AS c ON c.submission_id = s.id WHERE s.id = 1")
    assert intended == observed
    assert datetime.fromisoformat(intended).tzinfo is None  # UTC, stored without a zone


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
    open_store(work).close()
    db = work / "pbt_tracker.db"
    connection = sqlite3.connect(db)
    connection.execute("UPDATE alembic_version SET version_num = '0099'")
    connection.commit()
    connection.close()
    with pytest.raises(SchemaTooNewError):
        open_store(work)
    done, _ = submit(tmp_path, work)
    assert (done.returncode, done.stderr.splitlines()[0]) == (1, (
        f"Error: {db} was written by a newer pbt-track (schema 0099, this one knows up to {SCHEMA_HEAD}); "
        "upgrade pbt-track (pip install -U pbt-track) to use it"
    ))
    assert query(db, "SELECT count(*) FROM launches") == [(0,)]
    assert query(db, "SELECT version_num FROM alembic_version") == [("0099",)]


def test_answers_are_written_together_when_the_batch_is_flushed(tmp_path: Path) -> None:
    from pbt_tracker.backends.slurm.answers import Answers
    from pbt_tracker.backends.slurm.commands import CommandResult, SubmitOutcome

    done, _ = submit(tmp_path, tmp_path / "w")
    assert done.returncode == 0, done.stderr
    db = tmp_path / "w" / "pbt_tracker.db"
    store = open_store(tmp_path / "w")
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
    from pbt_tracker.backends.slurm.answers import Answers
    from pbt_tracker.backends.slurm.commands import CommandResult, SubmitOutcome

    done, _ = submit(tmp_path, tmp_path / "w")
    assert done.returncode == 0, done.stderr
    store = open_store(tmp_path / "w")
    answers = Answers(store, max_wait=0)
    answers.add(1, "exp1", ["sbatch"], SubmitOutcome(CommandResult(["sbatch"], 0, "41\n", ""), job_id="41"))
    assert query(tmp_path / "w" / "pbt_tracker.db", "SELECT state, job_id FROM submissions WHERE id = 1") == [
        ("SUBMITTED", "41")
    ]
    store.close()
