"""The README's own examples, run against a real record."""

from __future__ import annotations

import re
import sqlite3
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from pbt_tracker.cli import cli
from tests.conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


@pytest.fixture
def slurm_logs(in_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workdir named as in the README, with a recorded launch, as the current directory's child."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["submit", "--run", "tests.fixtures.pbt_echo", "--backend", "slurm",
                                      "--workdir", "slurm_logs", "--slurm_print_only", "true"])
    assert result.exit_code == 0, result.output
    return tmp_path / "slurm_logs"


def test_the_readme_has_three_sql_examples_and_a_pandas_one() -> None:
    assert len(blocks("sql")) == 3
    assert len(blocks("python")) == 1


@pytest.mark.parametrize("index", range(3))
def test_readme_sql_examples_run_with_the_sqlite3_module(slurm_logs: Path, index: int) -> None:
    connection = sqlite3.connect(slurm_logs / "pbt_tracker.db")
    cursor = connection.execute(blocks("sql")[index])
    columns = [column[0] for column in cursor.description]
    rows = cursor.fetchall()
    expected = [
        (["run", "experiment", "attempt", "job_id", "state", "exit_code"], 3),
        (["experiment", "state", "exit_code", "log_path"], 0),
        (["name", "attempt", "queued_s"], 0),
    ][index]
    assert (columns, len(rows)) == expected


def test_readme_sql_examples_run_with_the_sqlite3_shell(slurm_logs: Path) -> None:
    done = subprocess.run(["sqlite3", str(slurm_logs / "pbt_tracker.db")], input=blocks("sql")[0],
                          capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == [
        "echo_pbt|00_echo_pbt|1||PRINT_ONLY|", "echo_pbt|01_echo_pbt|1||PRINT_ONLY|", "echo_pbt|02_echo_pbt|1||PRINT_ONLY|"
    ]


def test_readme_pandas_example_runs(slurm_logs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, object] = {}
    exec(compile(blocks("python")[0], "README.md", "exec"), namespace)
    assert len(namespace["status"]) == 3
    assert list(namespace["attempts"]["state"]) == ["PRINT_ONLY"] * 3
    assert "PRINT_ONLY    3" in capsys.readouterr().out


def test_the_test_command_in_the_readme_is_what_ci_runs() -> None:
    assert "```sh\nscripts/test.sh\n```" in README
    assert (REPO_ROOT / ".ci" / "run").read_text().strip().splitlines()[-1] == "exec scripts/test.sh"
