"""Typos get the closest name the record (or pbt-track) knows, and a bare number the --policy it meant."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pbt_tracker.cli import cli

PBT = "tests.fixtures.pbt_echo"


@pytest.fixture
def work(in_repo: Path, tmp_path: Path) -> Path:
    work = tmp_path / "work"
    result = CliRunner().invoke(cli, ["submit", "--run", PBT, "--backend", "slurm", "--workdir", str(work),
                                      "--slurm_print_only", "true", "--train_dir", str(tmp_path / "t")])
    assert result.exit_code == 0, result.output
    return work


def invoke(*argv: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(argv), prog_name="pbt-track")
    return result.exit_code, result.stderr


def test_a_mistyped_experiment_name_gets_the_closest_recorded_one(work: Path) -> None:
    assert invoke("show", "02_echo_pdt", "--workdir", str(work)) == (
        1, "Error: no experiment named 02_echo_pdt in this workdir (did you mean 02_echo_pbt?); "
           "`pbt-track report` lists the experiments\n")
    assert invoke("report", "--experiment", "echo_pdt", "--workdir", str(work), "--no-sync") == (
        1, "Error: no experiment named echo_pdt in this workdir (did you mean echo_pbt?); "
           "`pbt-track report` lists the experiments\n")
    assert invoke("logs", "01_echo_pb", "--workdir", str(work), "--no-sync") == (
        1, "Error: no experiment named 01_echo_pb in this workdir (did you mean 01_echo_pbt?); "
           "`pbt-track report` lists the experiments\n")


def test_a_number_given_as_a_name_hints_the_policy_option(work: Path) -> None:
    assert invoke("show", "2", "--workdir", str(work)) == (
        1, "Error: no experiment named 2 in this workdir (for policy 2, pass --policy 2); "
           "`pbt-track report` lists the experiments\n")


def test_a_mistyped_run_name_gets_the_closest_recorded_one(work: Path) -> None:
    assert invoke("report", "--run", "echo_pdt", "--workdir", str(work), "--no-sync") == (
        1, "Error: no run named echo_pdt in this workdir (did you mean echo_pbt?); `pbt-track report` lists the runs\n")


def test_a_mistyped_state_gets_the_closest_state(work: Path) -> None:
    code, err = invoke("report", "-t", "RUNING", "--workdir", str(work), "--no-sync")
    assert code == 2
    assert err.startswith("Error: Invalid value for '-t' / '--state': RUNING is not a job state (did you mean "
                          "RUNNING?); use one of BOOT_FAIL, CANCELLED, ")


def test_a_mistyped_command_or_option_gets_the_closest_one() -> None:
    assert invoke("reprot") == (2, "Error: No such command 'reprot' (did you mean report?). (see `pbt-track --help`)\n")
    assert invoke("report", "--stat", "R") == (
        2, "Error: No such option '--stat'. (Did you mean one of: '--state', '--watch'?) "
           "(see `pbt-track report --help`)\n")
