"""A workdir moved or deleted under the record: say what is true, and use up no attempt."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from pbt_tracker.backends.slurm.scancel_sh import write_scancel_script
from pbt_tracker.cli import cli
from pbt_tracker.errors import StoreError
from pbt_tracker.store import open_store
from tests.conftest import file_digest, query

REFUSED = 'echo "sbatch: error: Batch job submission failed: Invalid partition name specified" >&2; exit 1\n'


def test_resubmitting_from_a_moved_workdir_is_refused_before_any_attempt_is_recorded(
    in_repo: Path, tmp_path: Path, fake_bin
) -> None:
    """sbatch is a stand-in that refuses every job: a one-node Slurm does not refuse on demand."""
    fake_bin("sbatch", "#!/bin/sh\n" + REFUSED)
    old, new = tmp_path / "old", tmp_path / "new"
    launched = CliRunner().invoke(cli, ["submit", "--run", "tests.fixtures.pbt_echo", "--backend", "slurm",
                                        "--workdir", str(old), "--pause_between", "0",
                                        "--train_dir", str(tmp_path / "t")])
    assert launched.exit_code == 1, launched.output
    old.rename(new)
    before = file_digest(new / "pbt_tracker.db")

    result = CliRunner().invoke(cli, ["resubmit-failed", "--workdir", str(new), "--no-sync"])

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: this record was written in {old}, which no longer exists (the workdir was moved to {new}), "
        f"and its sbatch commands name files there; move the workdir back, or link it there (ln -s {new} {old}), "
        "then run resubmit-failed again\n"
    )
    assert file_digest(new / "pbt_tracker.db") == before
    assert query(new / "pbt_tracker.db", "SELECT max(attempt) FROM submissions") == [(1,)]


def test_scancel_script_in_a_deleted_workdir_does_not_claim_the_database_still_lists_the_jobs(tmp_path: Path) -> None:
    workdir = tmp_path / "w"
    store = open_store(workdir)
    try:
        shutil.rmtree(workdir)
        with pytest.raises(StoreError) as excinfo:
            write_scancel_script(store)
    finally:
        store.close()
    assert str(excinfo.value) == (
        f"cannot write {workdir / 'scancel.sh'}: No such file or directory; the workdir's database is gone too "
        f"({workdir / 'pbt_tracker.db'} was deleted or moved while pbt-track ran), so no record of these jobs "
        "remains there: `squeue --me` lists them"
    )
