"""`pbt-track submit`: the launcher as a click command, in both spellings of its options."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pbt_tracker import __version__
from pbt_tracker.cli import cli
from tests.conftest import query

PBT = "tests.fixtures.pbt_echo"


@pytest.mark.parametrize("workdir_flag", ["--slurm_workdir", "--slurm-workdir", "--workdir"])
def test_submit_takes_the_workdir_in_every_spelling(in_repo: Path, tmp_path: Path, workdir_flag: str) -> None:
    work = tmp_path / "w"
    result = CliRunner().invoke(cli, ["submit", "--run", PBT, "--backend", "slurm", workdir_flag, str(work),
                                      "--slurm_print_only", "true", "--train_dir", str(tmp_path / "t")])
    assert result.exit_code == 0, result.output
    assert query(work / "pbt_tracker.db", "SELECT count(*) FROM submissions WHERE state = 'PRINT_ONLY'") == [(3,)]


def test_dashed_and_seed_spellings_record_the_same_options(in_repo: Path, tmp_path: Path) -> None:
    common = ["submit", "--run", PBT, "--backend", "slurm", "--slurm_print_only", "true"]
    seed = ["--slurm_workdir", str(tmp_path / "a"), "--slurm_gpus_per_job", "2", "--slurm_cpus_per_gpu", "4",
            "--slurm_partition", "gpu", "--train_dir", str(tmp_path / "t"), "--pause_between", "0"]
    dashed = ["--slurm-workdir", str(tmp_path / "b"), "--slurm-gpus-per-job", "2", "--slurm-cpus-per-gpu", "4",
              "--slurm-partition", "gpu", "--train-dir", str(tmp_path / "t"), "--pause-between", "0"]
    for argv in (seed, dashed):
        assert CliRunner().invoke(cli, common + argv).exit_code == 0
    argvs = [query(tmp_path / d / "pbt_tracker.db", "SELECT argv FROM submissions ORDER BY id") for d in "ab"]
    assert argvs[0] == [(row[0].replace(str(tmp_path / "b"), str(tmp_path / "a")),) for row in argvs[1]]
    assert '"-p", "gpu", "--gres=gpu:2", "-c", "8"' in argvs[1][0][0]


def test_submit_says_where_the_database_is(in_repo: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["submit", "--run", PBT, "--backend", "slurm", "--workdir", str(tmp_path),
                                      "--slurm_print_only", "true", "--train_dir", str(tmp_path / "t")])
    assert f"Recorded in {tmp_path / 'pbt_tracker.db'} (launch 1)\n" in result.output


def test_submit_error_is_one_line_with_exit_code_1(in_repo: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["submit", "--run", "tests.fixtures.empty_run", "--backend", "slurm",
                                      "--workdir", str(tmp_path / "w")])
    assert result.exit_code == 1
    assert result.stderr == "Error: run empty describes no experiments; add an Experiment to RUN_DESCRIPTION\n"
    assert not (tmp_path / "w").exists()


def test_submit_rejects_a_non_integer_gpu_count_before_doing_anything(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["submit", "--run", PBT, "--backend", "slurm", "--workdir", str(tmp_path / "w"),
                                      "--slurm_gpus_per_job", "two"])
    assert result.exit_code == 2
    assert "Error: Invalid value for '--slurm_gpus_per_job' / '--slurm-gpus-per-job': 'two' is not a valid integer." in result.output
    assert not (tmp_path / "w").exists()


def test_submit_help_carries_an_example() -> None:
    result = CliRunner().invoke(cli, ["submit", "--help"])
    assert result.exit_code == 0
    assert "Example:\n      pbt-track submit --run my_experiments.ant_pbt --backend slurm" in result.output


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_version(flag: str) -> None:
    result = CliRunner().invoke(cli, [flag])
    assert (result.exit_code, result.output) == (0, f"pbt-track, version {__version__}\n")
