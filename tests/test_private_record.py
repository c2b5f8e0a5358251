"""What pbt-track writes is its owner's: the record, its journal, the scripts and the logs.

The record holds every experiment's command and environment values (API
keys such as WANDB_API_KEY end up there), so under the usual umask 022 they
must still not be readable by the other users of a login node.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from pbt_tracker.cli import cli


@pytest.fixture
def umask() -> Iterator[callable]:  # type: ignore[valid-type]
    old = os.umask(0o022)
    try:
        yield os.umask
    finally:
        os.umask(old)


def modes(root: Path) -> dict[str, int]:
    return {str(path.relative_to(root)): stat.S_IMODE(path.lstat().st_mode) for path in [root, *root.rglob("*")]}


def submit(work: Path, train: Path, *extra: str, backend: str = "slurm") -> None:
    args = ["submit", "--run", "tests.fixtures.pbt_echo", "--backend", backend, "--workdir", str(work),
            "--train_dir", str(train), *extra]
    if backend == "slurm":
        args += ["--slurm_print_only", "true"]
    else:
        args += ["--pause_between", "0"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output


def test_under_umask_022_the_record_scripts_and_folders_are_the_owners_only(in_repo: Path, tmp_path: Path,
                                                                            umask) -> None:  # type: ignore[no-untyped-def]
    work, train = tmp_path / "work", tmp_path / "train"
    submit(work, train)
    found = modes(work)
    assert found["."] == 0o700 and found["pbt_tracker.db"] == 0o600
    assert {mode for name, mode in found.items() if name.startswith("sbatch_")} == {0o600}
    assert found["scancel.sh"] == 0o700
    assert {mode for name, mode in modes(train).items() if (train / name).is_dir()} == {0o700}


def test_a_local_launchs_logs_and_journal_are_the_owners_only(in_repo: Path, tmp_path: Path, umask) -> None:  # type: ignore[no-untyped-def]
    work, train = tmp_path / "work", tmp_path / "train"
    submit(work, train, backend="processes")
    found = modes(work)
    logs = {mode for name, mode in found.items() if name.endswith(".log")}
    assert logs == {0o600} and found["pbt_tracker.db"] == 0o600 and found["."] == 0o700
    connection = sqlite3.connect(work / "pbt_tracker.db")  # a journal SQLite makes takes the database's mode
    connection.execute("PRAGMA journal_mode=DELETE")
    connection.execute("BEGIN IMMEDIATE")
    connection.execute("INSERT INTO sync_runs VALUES ('x', '2026-01-01')")
    assert stat.S_IMODE((work / "pbt_tracker.db-journal").stat().st_mode) == 0o600
    connection.execute("ROLLBACK")
    connection.close()


def test_group_readable_is_asked_for_recorded_and_still_never_world_readable(in_repo: Path, tmp_path: Path,
                                                                            umask) -> None:  # type: ignore[no-untyped-def]
    work, train = tmp_path / "work", tmp_path / "train"
    submit(work, train, "--group-readable")
    found = modes(work)
    assert found["."] == 0o750 and found["pbt_tracker.db"] == 0o640
    assert {mode for name, mode in found.items() if name.startswith("sbatch_")} == {0o640}
    with sqlite3.connect(work / "pbt_tracker.db") as connection:
        assert connection.execute("SELECT group_readable FROM launches").fetchall() == [(1,)]


def test_a_stricter_umask_wins_over_group_readable(in_repo: Path, tmp_path: Path, umask) -> None:  # type: ignore[no-untyped-def]
    umask(0o077)
    work, train = tmp_path / "work", tmp_path / "train"
    submit(work, train, "--group-readable")
    assert modes(work)["."] == 0o700 and modes(work)["pbt_tracker.db"] == 0o600


def test_a_world_readable_record_gets_one_warning_line(in_repo: Path, tmp_path: Path, umask) -> None:  # type: ignore[no-untyped-def]
    work, train = tmp_path / "work", tmp_path / "train"
    submit(work, train)
    db = work / "pbt_tracker.db"
    db.chmod(0o644)
    result = CliRunner().invoke(cli, ["report", "--workdir", str(work), "--no-sync"])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert warnings == [f"Warning: {db} is readable by every user of this machine, and it holds the experiments' "
                        f"commands and environment values; run `chmod 600 {db}` to keep it yours"]


@pytest.mark.parametrize("name", ["../../../etc/passwd", "/etc/passwd", "../work/pbt_tracker.db", "00_echo/../../x"])
def test_logs_takes_an_experiments_name_never_a_path(in_repo: Path, tmp_path: Path, name: str) -> None:
    work, train = tmp_path / "work", tmp_path / "train"
    submit(work, train, backend="processes")
    result = CliRunner().invoke(cli, ["logs", name, "--workdir", str(work)])
    assert result.exit_code != 0
    assert len(result.stderr.strip().splitlines()) == 1 and "root:" not in result.output


@pytest.mark.parametrize("launch", ["../1", "/1", "1/../2"])
def test_forget_takes_a_launch_number_never_a_path(in_repo: Path, tmp_path: Path, launch: str) -> None:
    work, train = tmp_path / "work", tmp_path / "train"
    submit(work, train)
    before = (work / "pbt_tracker.db").read_bytes()
    result = CliRunner().invoke(cli, ["forget", "--launch", launch, "--workdir", str(work)])
    assert result.exit_code == 2 and "is not a valid integer" in result.stderr
    assert (work / "pbt_tracker.db").read_bytes() == before


def test_a_later_attempt_of_a_group_readable_launch_is_written_as_the_launch_asked(in_repo: Path, tmp_path: Path,
                                                                                    umask) -> None:  # type: ignore[no-untyped-def]
    """resubmit-failed in a process of its own, which knows of --group-readable only from the record."""
    import subprocess
    import sys

    from pbt_tracker.files import share_with_group

    work, train = tmp_path / "work", tmp_path / "train"
    result = CliRunner().invoke(cli, ["submit", "--run", "tests.fixtures.quick_outcomes", "--backend", "processes",
                                      "--workdir", str(work), "--train_dir", str(train), "--pause_between", "0",
                                      "--group-readable"])
    share_with_group(False)  # what the in-process launch left set
    assert "01_quick_out_flaky" in result.output
    again = subprocess.run([str(Path(sys.executable).parent / "pbt-track"), "resubmit-failed", "--workdir", str(work)],
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert modes(work)["01_quick_out_flaky.2.log"] == 0o640
