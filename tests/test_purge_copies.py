"""`forget --purge` removes the PBT restart copies its launch's policies left, and nothing else on disk."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from click.testing import CliRunner

from pbt_tracker.cli import cli
from pbt_tracker.store import open_store
from pbt_tracker.store.decisions import NewStart, insert_starts
from tests.conftest import query

PBT = "tests.fixtures.pbt_echo"


def launch(work: Path, train: Path) -> None:
    done = CliRunner().invoke(cli, ["submit", "--run", PBT, "--backend", "slurm", "--workdir", str(work),
                                    "--train_dir", str(train), "--slurm_print_only", "true", "--pause_between", "0"])
    assert done.exit_code == 0, done.output


def start(submission_id: int, checkpoint: Path, name: str, offset: int) -> NewStart:
    return NewStart(submission_id=submission_id, policy=0, iteration=5, donor=1, checkpoint=str(checkpoint),
                    experiment_name=name, args=["train.py", f"checkpoint={checkpoint}"], log_offset=offset,
                    observed_at=datetime(2026, 12, 7, 12, 0, 0))


def test_purge_removes_the_launchs_restart_copies_but_no_other_file_and_no_copy_another_launch_needs(
        in_repo: Path, tmp_path: Path) -> None:
    work = tmp_path / "w"
    launch(work, tmp_path / "t1")
    launch(work, tmp_path / "t2")
    [(first,)] = query(work / "pbt_tracker.db", "SELECT min(s.id) FROM submissions s JOIN experiments e "
                       "ON e.id = s.experiment_id WHERE e.launch_id = 1")
    [(other,)] = query(work / "pbt_tracker.db", "SELECT min(s.id) FROM submissions s JOIN experiments e "
                       "ON e.id = s.experiment_id WHERE e.launch_id = 2")
    copies = tmp_path / "run" / ".pbt-track-tmp" / "ige_me" / "life_p0"
    copies.mkdir(parents=True)
    own, shared = copies / "000005.pth", copies / "000006.pth"
    workspace_checkpoint = tmp_path / "run" / "runs" / "ws" / "000" / "000005.pth"
    workspace_checkpoint.parent.mkdir(parents=True)
    for path in (own, shared, workspace_checkpoint):
        path.write_text("{}")
    store = open_store(work)
    with store.write() as connection:
        insert_starts(connection, [start(first, own, "life", 10), start(first, shared, "life", 20),
                                   start(first, workspace_checkpoint, "life", 30), start(other, shared, "life", 40)])
    store.close()

    result = CliRunner().invoke(cli, ["forget", "--workdir", str(work), "--launch", "1", "--purge", "--yes"])

    assert result.exit_code == 0, result.output
    assert not own.exists()
    assert shared.exists()  # launch 2's start still names it, and no later save superseded it
    assert workspace_checkpoint.exists()  # not laid out as a restart copy: never removed
    assert query(work / "pbt_tracker.db", "SELECT count(*) FROM launches") == [(1,)]
