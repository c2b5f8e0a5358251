"""Every resubmission and continuation runs in the directory its launch ran in, whoever sends it from wherever.

sbatch is a stand-in that records its arguments (its job would start where sbatch ran); the same story
runs on the real cluster in tests/slurm/test_resubmit_on_slurm.py.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from pbt_tracker.backends.slurm.continuation import run_from
from pbt_tracker.cli import cli
from tests.conftest import REPO_ROOT, query
from tests.test_resume import SBATCH_ACCEPTS, SBATCH_REFUSES, write_iteration


@pytest.fixture
def refused(tmp_path: Path, in_repo: Path, fake_bin) -> Path:  # type: ignore[no-untyped-def]
    """A two-policy PBT launch from the repository root that sbatch refused; sbatch then accepts."""
    fake_bin("sbatch", SBATCH_REFUSES)
    work = tmp_path / "w"
    result = CliRunner().invoke(cli, ["submit", "--run", "tests.fixtures.pbt_workspace_echo", "--backend", "slurm",
                                      "--workdir", str(work), "--train_dir", str(tmp_path / "t"),
                                      "--pause_between", "0"])
    assert result.exit_code == 1, result.output
    fake_bin("sbatch", SBATCH_ACCEPTS)
    return work


def sent_argvs(work: Path) -> dict[str, list[str]]:
    rows = query(work / "pbt_tracker.db", "SELECT e.name, s.argv FROM submissions s JOIN experiments e "
                                          "ON e.id = s.experiment_id WHERE s.attempt = 2")
    return {name: json.loads(argv) for name, argv in rows}


def test_a_resubmission_sent_from_another_directory_runs_in_the_launch_directory(
        refused: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    [(cmd,)] = query(refused / "pbt_tracker.db", "SELECT cmd FROM experiments WHERE name = '01_ws_pbt'")
    write_iteration(Path(shlex.split(cmd)[-1].partition("=")[2]) / "runs" / "ws" / "001", 3, "life")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    result = CliRunner().invoke(cli, ["resubmit-failed", "--workdir", str(refused), "--no-sync"])

    assert result.exit_code == 0, result.output
    argvs = sent_argvs(refused)
    assert argvs["00_ws_pbt"][:3] == ["sbatch", argvs["00_ws_pbt"][1], f"--chdir={REPO_ROOT}"]  # the tag, then where
    assert argvs["01_ws_pbt"][2] == f"--chdir={REPO_ROOT}"  # a continuation too
    calls = Path(f"{refused.parent / 'fake-bin' / 'sbatch'}.calls").read_text().splitlines()
    assert calls.count(f"--chdir={REPO_ROOT}") == 2


def test_a_launch_directory_that_is_gone_is_refused_before_anything_is_recorded(
        tmp_path: Path, fake_bin, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    launched_from = tmp_path / "project"
    (launched_from / "tests" / "fixtures").mkdir(parents=True)
    fixture = REPO_ROOT / "tests" / "fixtures" / "pbt_workspace_echo.py"
    (launched_from / "run_module.py").write_text(fixture.read_text())
    monkeypatch.chdir(launched_from)
    fake_bin("sbatch", SBATCH_REFUSES)
    work = tmp_path / "w"
    result = CliRunner().invoke(cli, ["submit", "--run", "run_module.py", "--backend", "slurm", "--workdir",
                                      str(work), "--train_dir", str(tmp_path / "t"), "--pause_between", "0"])
    assert result.exit_code == 1, result.output
    fake_bin("sbatch", SBATCH_ACCEPTS)
    monkeypatch.chdir(tmp_path)
    (launched_from / "run_module.py").unlink()
    (launched_from / "tests" / "fixtures").rmdir()
    (launched_from / "tests").rmdir()
    launched_from.rmdir()
    before = query(work / "pbt_tracker.db", "SELECT count(*) FROM submissions")

    result = CliRunner().invoke(cli, ["resubmit-failed", "--workdir", str(work), "--no-sync"])

    assert (result.exit_code, result.stderr) == (1, (
        f"Error: 00_ws_pbt was launched from {launched_from}, which no longer exists, and its command runs there; "
        "restore or recreate that directory, then send it again\n"))
    assert query(work / "pbt_tracker.db", "SELECT count(*) FROM submissions") == before


@pytest.mark.parametrize(("argv", "script", "expected"), [
    (["sbatch", "--output", "l", "s.sh"], "#!/bin/bash\n$CMD\n", ["sbatch", "--chdir=/launch", "--output", "l", "s.sh"]),
    (["sbatch", "--chdir=/mine", "s.sh"], "#!/bin/bash\n", ["sbatch", "--chdir=/mine", "s.sh"]),
    (["sbatch", "-D", "/mine", "s.sh"], "#!/bin/bash\n", ["sbatch", "-D", "/mine", "s.sh"]),
    (["sbatch", "s.sh"], "#!/bin/bash\n#SBATCH --chdir=/tpl\ncd x\n", ["sbatch", "s.sh"]),
    (["sbatch", "s.sh"], "#!/bin/bash\n#SBATCH -D /tpl\n", ["sbatch", "s.sh"]),
    (["sbatch", "s.sh"], "#!/bin/bash\necho hi\n#SBATCH --chdir=/ignored-by-sbatch\n",
     ["sbatch", "--chdir=/launch", "s.sh"]),
], ids=["added", "given", "given-short", "template", "template-short", "after-a-command"])
def test_the_launch_directory_is_added_unless_the_command_or_the_scripts_directives_choose_one(
        argv: list[str], script: str, expected: list[str]) -> None:
    assert run_from(argv, "/launch", script) == expected


def test_a_record_without_a_launch_directory_leaves_the_command_as_it_was() -> None:
    assert run_from(["sbatch", "s.sh"], None, "#!/bin/bash\n") == ["sbatch", "s.sh"]


FLAKY = """import pathlib, sys
marker = pathlib.Path("ran-once")
if not marker.exists():
    marker.write_text("1")
    sys.exit(3)
print("second run, in", pathlib.Path.cwd())
"""


def test_a_local_resubmission_from_another_directory_runs_a_relative_command_in_the_launch_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "flaky.py").write_text(FLAKY)
    (project / "run.py").write_text(
        "from pbt_tracker.run_description import Experiment, RunDescription\n"
        "RUN_DESCRIPTION = RunDescription('rel', experiments=[Experiment('flaky', 'python flaky.py', [{}])])\n")
    monkeypatch.chdir(project)
    work = tmp_path / "w"
    first = CliRunner().invoke(cli, ["submit", "--run", "run.py", "--workdir", str(work), "--train_dir",
                                     str(tmp_path / "t"), "--pause_between", "0"])
    assert first.exit_code == 1, first.output
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    again = CliRunner().invoke(cli, ["resubmit-failed", "--workdir", str(work), "--no-sync"])

    assert again.exit_code == 0, again.output
    assert query(work / "pbt_tracker.db", "SELECT attempt, state, exit_code FROM submissions ORDER BY id") == [
        (1, "FAILED", 3), (2, "COMPLETED", 0)]
    assert (work / "00_flaky.2.log").read_text().endswith(f"second run, in {project}\n")
