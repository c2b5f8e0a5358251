"""pbt-track.toml: defaults for every command's options, found in this folder or the nearest parent.

Every test runs from a folder below the project's, as a user runs commands
from wherever they are in it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from pbt_tracker.cli import cli

REPO = Path(__file__).resolve().parent.parent
PBT = str(REPO / "tests" / "fixtures" / "pbt_echo.py")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose file keeps the Slurm options, run from two folders below it."""
    root = tmp_path / "proj"
    (root / "src" / "deep").mkdir(parents=True)
    (root / "pbt-track.toml").write_text(
        'workdir = "slurm_logs"\nbackend = "slurm"\nslurm_partition = "debug"\nslurm_cpus_per_gpu = 2\n'
        'slurm_print_only = true\ntrain_dir = "train"\n'
    )
    monkeypatch.chdir(root / "src" / "deep")
    monkeypatch.delenv("PBT_TRACK_WORKDIR", raising=False)
    monkeypatch.delenv("PBT_TRACK_PYTHON", raising=False)
    return root


def invoke(*argv: str, **env: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(argv), prog_name="pbt-track", env={"COLUMNS": "80", **env})
    return result.exit_code, result.stdout, result.stderr


def test_submit_takes_the_files_options_and_every_command_finds_the_workdir_without_a_flag(project: Path) -> None:
    code, out, err = invoke("submit", "--run", PBT)
    assert code == 0, err
    with sqlite3.connect(project / "slurm_logs" / "pbt_tracker.db") as connection:
        argv, = connection.execute("SELECT argv FROM submissions WHERE id = 1").fetchone()
        train_dir, = connection.execute("SELECT train_dir FROM launches").fetchone()
    connection.close()
    assert '"-p", "debug"' in argv and '"-c", "2"' in argv  # the file's partition and CPU count reached sbatch
    assert train_dir == str(project / "train")  # relative to the file, not to the folder the command ran in
    code, out, _ = invoke("report", "--no-sync")
    assert code == 0 and out.splitlines()[-1] == "3 experiments: 3 PRINT_ONLY"
    code, out, _ = invoke("show", "00_echo_pbt", "--no-sync")
    assert code == 0 and "00_echo_pbt" in out
    code, _, err = invoke("logs", "00_echo_pbt", "--no-sync")
    assert (code, err) == (1, "Error: 00_echo_pbt attempt 1 is PRINT_ONLY: it never ran, so it has no log; "
                              "`pbt-track show 00_echo_pbt` tells why\n")
    code, out, _ = invoke("cancel", "--all", "--dry-run", "--no-sync")
    assert (code, out) == (0, "Nothing to cancel: no job of this selection may still be running.\n")
    code, out, err = invoke("watch", "--once")
    assert (code, out) == (1, "Nothing to keep: every experiment of this workdir is final (3 PRINT_ONLY).\n")


def test_a_flag_beats_the_environment_which_beats_the_file_which_beats_the_default(project: Path,
                                                                                    tmp_path: Path) -> None:
    def used(*argv: str, **env: str) -> str:
        code, _, err = invoke("report", *argv, **env)
        assert code == 1
        return err.split(" (looked")[0].removeprefix("Error: no pbt-track database in ")

    assert used() == str(project / "slurm_logs")
    assert used(PBT_TRACK_WORKDIR=str(tmp_path / "env")) == str(tmp_path / "env")
    assert used("--workdir", str(tmp_path / "flag"), PBT_TRACK_WORKDIR=str(tmp_path / "env")) == str(tmp_path / "flag")
    (project / "pbt-track.toml").unlink()
    assert used() == str(project / "src" / "deep")


def test_config_prints_each_value_with_where_it_came_from(project: Path, tmp_path: Path) -> None:
    code, out, _ = invoke("config", PBT_TRACK_WORKDIR=str(tmp_path / "env"))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"# project file: {project / 'pbt-track.toml'}"
    assert f'slurm_partition = "debug"  # project file {project / "pbt-track.toml"}' in lines
    assert f'workdir = "{tmp_path / "env"}"  # environment PBT_TRACK_WORKDIR' in lines
    assert "slurm_gpus_per_job = 1  # default" in lines
    assert "max_attempts is not set" in out and "keeper_time = \"24:00:00\"  # default" in lines


def test_a_key_no_command_takes_is_one_line_naming_the_file_and_the_key(project: Path) -> None:
    (project / "pbt-track.toml").write_text('workdir = "logs"\nslurm_partitoin = "gpu"\n')
    for argv in (["report"], ["config"], ["cancel", "--all"]):
        code, out, err = invoke(*argv)
        assert (code, out) == (1, "")
        assert err == (f"Error: the project file {project / 'pbt-track.toml'} sets 'slurm_partitoin', which is no "
                       "option of any pbt-track command (did you mean slurm_partition?); fix or remove that line "
                       "(`pbt-track config` lists the keys)\n")


@pytest.mark.parametrize(("line", "message"), [
    ('slurm_cpus_per_gpu = "8"', 'sets slurm_cpus_per_gpu = "8", but slurm_cpus_per_gpu must be an integer (like 8)'),
    ("slurm_partition = 3", 'sets slurm_partition = 3, but slurm_partition must be a string in quotes (like "gpu")'),
    ('pbt = "yes"', 'sets pbt = "yes", but pbt must be true or false'),
    ('format = "xml"', "sets format = \"xml\": 'xml' is not one of 'table', 'json', 'csv'"),
    ("interval = 0.001", "sets interval = 0.001: 0.001 is not in the range x>=0.05"),
])
def test_a_value_of_the_wrong_kind_is_one_line_naming_the_file_and_the_key(project: Path, line: str,
                                                                            message: str) -> None:
    (project / "pbt-track.toml").write_text(line + "\n")
    code, _, err = invoke("report")
    assert (code, err) == (1, f"Error: the project file {project / 'pbt-track.toml'} {message}; fix that line\n")


def test_a_file_that_is_not_toml_is_refused_with_where(project: Path) -> None:
    (project / "pbt-track.toml").write_text("workdir = \n")
    code, _, err = invoke("report")
    assert code == 1
    assert err.startswith(f"Error: the project file {project / 'pbt-track.toml'} is not valid TOML: ")
    assert "(at line 1, column 11)" in err
