"""`--python`: the run description read by the training environment's interpreter, local experiments run with it,
and resubmit-failed and the keeper use the one the launch recorded.

The training environment is a virtualenv of a real Python 3.8 (pyenv's, or
`python3.8` on PATH) with the stand-in `isaacgymenvs` installed in it, which
pbt-track's own interpreter cannot import (tests/old_python.py).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pbt_tracker.cli import cli
from pbt_tracker.launcher.loader import describe
from tests.conftest import FIXTURES, REPO_ROOT, query, read_with
from tests.old_python import find_python

RUN = "isaacgymenvs.pbt.experiments.train_standin"


def submit(*argv: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["submit", *argv])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def records(work: Path) -> list[tuple[str, int, str, int | None, str]]:
    """(experiment, attempt, state, exit code, first argv word) of every attempt."""
    rows = query(work / "pbt_tracker.db", "SELECT e.name, s.attempt, s.state, s.exit_code, s.argv FROM submissions s "
                                           "JOIN experiments e ON e.id = s.experiment_id ORDER BY e.name, s.attempt")
    return [(name, attempt, state, code, json.loads(argv)[0]) for name, attempt, state, code, argv in rows]


def ran_with(work: Path, experiment: str, attempt: int) -> str:
    return (work / f"{experiment}.{attempt}.log").read_text().splitlines()[0]


def test_pbt_tracks_own_interpreter_cannot_import_the_stand_in_and_says_what_to_do(tmp_path: Path) -> None:
    """A fresh pbt-track: this test process may have imported the stand-in for other tests."""
    env = {key: value for key, value in os.environ.items() if key != "PBT_TRACK_PYTHON"}
    done = subprocess.run([sys.executable, "-m", "pbt_tracker", "submit", "--run", RUN, "--workdir",
                           str(tmp_path / "w")], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert (done.returncode, done.stdout, done.stderr) == (1, "", (
        f"Error: cannot import run module {RUN}: no module named isaacgymenvs; pass a module importable from the "
        "current directory (a.b.c) or the path of a .py file, or, where it is installed in the training "
        "environment, that environment's interpreter with --python\n"))
    assert not (tmp_path / "w").exists()


def test_submit_and_resubmit_failed_run_the_experiments_under_the_training_python_and_the_record_says_so(
    env38: Path, version38: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PBT_TRACK_PYTHON", raising=False)
    work = tmp_path / "w"
    code, out, _err = submit("--run", RUN, "--python", str(env38), "--workdir", str(work), "--pause_between", "0")

    assert (code, out.splitlines()[0]) == (1, read_with("local processes", str(env38), version38))
    assert out.splitlines()[-1] == "1 of 2 experiments did not complete."
    [(options,)] = query(work / "pbt_tracker.db", "SELECT options FROM launches")
    recorded = json.loads(options)
    assert [recorded[key] for key in ("python", "described_with", "described_with_version", "experiments_python")] == [
        str(env38), str(env38), version38, str(env38)]
    assert records(work) == [("00_train_standin", 1, "COMPLETED", 0, str(env38)),
                             ("01_train_standin", 1, "FAILED", 3, str(env38))]
    assert ran_with(work, "01_train_standin", 1) == f"isaacgymenvs.train stand-in: Python {version38} at {env38}"

    # Whatever interpreter this shell names now, the failed policy continues with the one its launch recorded.
    monkeypatch.setenv("PBT_TRACK_PYTHON", sys.executable)
    result = CliRunner().invoke(cli, ["resubmit-failed", "--workdir", str(work)])

    workspace = tmp_path / "train_dir" / "train_standin" / "train_standin_" / "runs" / "ws" / "001"
    assert (result.exit_code, result.stdout.splitlines()[0]) == (
        0, f"01_train_standin: continues policy 1 from iteration 1 (checkpoint {workspace / '000001.pth'})")
    assert records(work)[-1] == ("01_train_standin", 2, "COMPLETED", 0, str(env38))
    assert ran_with(work, "01_train_standin", 2) == f"isaacgymenvs.train stand-in: Python {version38} at {env38}"
    assert sorted(path.name for path in workspace.glob("*.yaml")) == ["000001.yaml", "000002.yaml", "000003.yaml"]


def test_the_keepers_resume_runs_under_the_python_the_launch_recorded_from_pbt_track_python(
    env38: Path, version38: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PBT_TRACK_PYTHON", str(env38))
    work = tmp_path / "w"
    assert submit("--run", RUN, "--workdir", str(work), "--pause_between", "0")[0] == 1
    monkeypatch.delenv("PBT_TRACK_PYTHON")

    result = CliRunner().invoke(cli, ["watch", "--workdir", str(work), "--once", "--resume-failed"])

    assert (result.exit_code, result.stdout.splitlines()[0]) == (
        0, "01_train_standin: resume: attempt 1 ended FAILED; resumed as attempt 2")
    assert records(work)[-1] == ("01_train_standin", 2, "COMPLETED", 0, str(env38))
    assert ran_with(work, "01_train_standin", 2) == f"isaacgymenvs.train stand-in: Python {version38} at {env38}"
    assert query(work / "pbt_tracker.db", "SELECT action FROM keeper_decisions") == [("resume",)]


def test_a_slurm_launch_reads_the_run_with_the_training_python_and_leaves_the_jobs_python_to_their_environment(
    env38: Path, version38: str, tmp_path: Path
) -> None:
    """The launcher prints the line too when --python is given; the script keeps the command as it was."""
    work = tmp_path / "w"
    done = subprocess.run(
        [sys.executable, "-m", "pbt_tracker.launcher.run", "--run", RUN, "--python", str(env38), "--backend", "slurm",
         "--slurm_workdir", str(work), "--slurm_print_only", "true", "--train_dir", str(tmp_path / "t")],
        cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert (done.returncode, done.stdout.splitlines()[0]) == (0, read_with("Slurm", str(env38), version38))
    [(options,)] = query(work / "pbt_tracker.db", "SELECT options FROM launches")
    assert json.loads(options)["experiments_python"] is None
    assert (work / "sbatch_00_train_standin.sh").read_text().splitlines()[-1].startswith(
        "python -m isaacgymenvs.train task=Ant ")


NOT_A_PYTHON = "#!/bin/sh\necho 'not a python'\n"


@pytest.mark.parametrize(("how", "says"), [
    (["--python", "{T}/nope/python"], "--python {T}/nope/python does not exist; pass the training environment's "
     "interpreter, e.g. --python ~/miniconda3/envs/<env>/bin/python"),
    (["--python", "{T}"], "--python {T} is a directory; pass the interpreter inside it, e.g. --python {T}/bin/python"),
    (["--python", "{T}/plain.txt"], "--python {T}/plain.txt is not executable; pass the training environment's "
     "interpreter, e.g. --python ~/miniconda3/envs/<env>/bin/python"),
    (["--python", "{T}/fake-python"], "the training interpreter {T}/fake-python did not answer as Python 3.6 or later "
     "does (exit 0); pass the training environment's interpreter, e.g. --python ~/miniconda3/envs/<env>/bin/python"),
    (["env", "PBT_TRACK_PYTHON={T}/gone"], "PBT_TRACK_PYTHON {T}/gone does not exist; set it to the training "
     "environment's interpreter (e.g. ~/miniconda3/envs/<env>/bin/python) or unset it"),
], ids=["missing", "directory", "not-executable", "not-a-python", "environment-missing"])
def test_a_bad_python_is_one_line_with_what_to_do_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: list[str], says: str
) -> None:
    (tmp_path / "plain.txt").write_text("")
    (tmp_path / "fake-python").write_text(NOT_A_PYTHON)
    (tmp_path / "fake-python").chmod(0o755)
    argv = [arg.replace("{T}", str(tmp_path)) for arg in how]
    if argv[0] == "env":
        monkeypatch.setenv(*argv[1].split("=", 1))
        argv = []
    code, out, err = submit("--run", "tests.fixtures.pbt_echo", *argv, "--workdir", str(tmp_path / "w"))
    assert (code, out, err) == (1, "", f"Error: {says.replace('{T}', str(tmp_path))}\n")
    assert not (tmp_path / "w").exists()


def test_a_run_the_training_python_cannot_import_is_one_line_naming_it(
    env38: Path, version38: str, tmp_path: Path, in_repo: Path
) -> None:
    code, out, err = submit("--run", "tests.fixtures.no_such_run", "--python", str(env38),
                            "--workdir", str(tmp_path / "w"))
    assert (code, out, err) == (1, "", (
        f"Error: {env38} (Python {version38}) cannot import run module tests.fixtures.no_such_run: no module named "
        "tests.fixtures.no_such_run; install it in that environment, or pass a module importable from the current "
        "directory (a.b.c) or the path of a run file, or the interpreter of the environment that has it (--python)\n"))
    code, out, err = submit("--run", "tests.fixtures.fails_on_import", "--python", str(env38),
                            "--workdir", str(tmp_path / "w"))
    assert (code, err) == (1, (
        f"Error: run module tests.fixtures.fails_on_import failed while importing under {env38} (Python {version38}) "
        f"(RuntimeError: cluster config not found); run `'{env38}' -c 'import tests.fixtures.fails_on_import'` "
        "to see the traceback\n"))
    noisy = tmp_path / "noisy.py"
    noisy.write_text("import sys\nprint('loading')\nprint('almost', file=sys.stderr)\nraise KeyError('cfg')\n")
    code, out, err = submit("--run", str(noisy), "--python", str(env38), "--workdir", str(tmp_path / "w"))
    assert (code, out, err) == (1, "", (
        f"Error: run module {noisy} failed while importing under {env38} (Python {version38}) (KeyError: 'cfg'); "
        f"run `'{env38}' {noisy}` to see the traceback\n"))
    assert not (tmp_path / "w").exists()


def test_python_2_is_told_it_is_too_old(tmp_path: Path) -> None:
    python2, why = find_python("2.7")
    if python2 is None:
        pytest.skip(why)
    code, _out, err = submit("--run", "tests.fixtures.pbt_echo", "--python", python2, "--workdir", str(tmp_path / "w"))
    version = subprocess.run([python2, "-c", "import platform; print(platform.python_version())"],
                             capture_output=True, text=True).stdout.strip()
    assert (code, err) == (1, (
        f"Error: the training interpreter {python2} is Python {version}, and run descriptions are read with Python "
        "3.6 or later; pass the training environment's interpreter, e.g. --python ~/miniconda3/envs/<env>/bin/python\n"))


# --- the same experiments, whichever interpreter reads them ---------------------------------------


def specs(run: str, python: str | None) -> list[tuple]:
    description, interpreter = describe(run, "s", python, "train dir")
    return [tuple(spec) for spec in description.experiment_specs("train dir")], interpreter


@pytest.mark.parametrize("run", ["tests.fixtures.pbt_echo", "pbt_tracker.examples.toy_pbt", "tests.fixtures.ngc_trio"])
@pytest.mark.parametrize("version", ["3.6", "3.8"])
def test_pbt_tracks_own_classes_give_the_same_experiments_under_an_old_python(
    in_repo: Path, run: str, version: str
) -> None:
    """run_description.py imports on Python 3.6 without pbt-track's environment: only its package directory."""
    python, why = find_python(version)
    if python is None:
        pytest.skip(why)
    there, interpreter = specs(run, python)
    assert there == specs(run, None)[0]
    assert (interpreter.path, interpreter.version.rsplit(".", 1)[0]) == (python, version)


@pytest.mark.parametrize("run", ["isaacgymenvs.pbt.experiments.grid_standin",
                                 "isaacgymenvs.pbt.experiments.echo_pbt_standin"])
def test_the_stand_in_classes_give_the_same_experiments_there_as_here(
    env38: Path, in_repo: Path, monkeypatch: pytest.MonkeyPatch, run: str
) -> None:
    there = specs(run, str(env38))[0]
    monkeypatch.syspath_prepend(str(FIXTURES / "igestandin"))
    assert there == specs(run, None)[0]
    assert {"OMP_NUM_THREADS": "1"} in [spec[4] for spec in there] or run.endswith("echo_pbt_standin")


def test_a_run_file_its_output_and_its_warnings_come_back_from_the_training_python(
    env38: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "long names.py"
    run.write_text(
        "print('importing the run')\n"
        "from pbt_tracker.run_description import Experiment, ParamGrid, RunDescription\n"
        "RUN_DESCRIPTION = RunDescription('r', [Experiment('e' * 95, 'python t.py', "
        "ParamGrid([('lr', [1, 2])]).generate_params(randomize=False))])\n")
    with pytest.warns(UserWarning) as caught:
        there = specs(str(run), str(env38))[0]
    assert [str(warning.message) for warning in caught] == [
        f"experiment name '0{n}_{'e' * 95}_lr_{n + 1}' is 103 characters long" for n in range(2)]
    assert [spec[0] for spec in there] == [f"00_{'e' * 95}_lr_1", f"01_{'e' * 95}_lr_2"]
    assert capfd.readouterr() == ("importing the run\n", "")


@pytest.mark.slow  # a second or more of real processes: kept out of the quick tier
def test_the_readmes_command_for_isaacgymenvs_users_runs_as_written(
    env38: Path, version38: str, tmp_path: Path
) -> None:
    """With this pbt-track for ~/.pbt-track's and the Python 3.8 environment for the conda one."""
    readme = (REPO_ROOT / "README.md").read_text()
    [block] = [block for block in re.findall(r"```sh\n(.*?)```", readme, flags=re.S) if "--python ~/" in block]
    install, submit_line = block.split("\n", 1)
    assert install.startswith("python3.11 -m venv ~/.pbt-track && ~/.pbt-track/bin/pip install .")
    argv = shlex.split(submit_line.replace("\\\n", " "))
    argv = [str(Path(sys.executable).parent / "pbt-track") if arg == "~/.pbt-track/bin/pbt-track" else
            str(env38) if arg == "~/miniconda3/envs/<env>/bin/python" else arg for arg in argv]
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout.splitlines()[0], done.stdout.splitlines()[-1]) == (
        0, read_with("local processes", str(env38), version38), "Done!"), done.stdout + done.stderr
    assert len(list((tmp_path / "pbt_runs").glob("0?_ant_pbt.1.log"))) == 4


_LIKE_ISAACGYMENVS = ("class D:\n    run_name = 'r'; experiment_arg_name = 'e'; experiment_dir_arg_name = 'd'\n"
                      "    customize_experiment_name = False; param_prefix = ''; experiment_suffix = ''\n")
ODD_DESCRIPTIONS = {  # descriptions of a launcher's classes other than pbt-track's, as IsaacGymEnvs' are
    "a-dict": "RUN_DESCRIPTION = {'run_name': 'r'}\n",
    "generate-not-callable": _LIKE_ISAACGYMENVS + "    experiments = []; generate_experiments = 5\nRUN_DESCRIPTION = D()\n",
    "experiments-not-a-list": _LIKE_ISAACGYMENVS + "    experiments = 3\n    def generate_experiments(self, t, makedirs):\n"
                              "        return iter(())\nRUN_DESCRIPTION = D()\n",
    "experiment-without-cmd": _LIKE_ISAACGYMENVS + "    def generate_experiments(self, t, makedirs):\n"
                              "        return iter(())\nclass E:\n    base_name = 'e'; params = []; env_vars = None\n"
                              "RUN_DESCRIPTION = D()\nRUN_DESCRIPTION.experiments = [E()]\n",
    "yields-a-list": _LIKE_ISAACGYMENVS + "    def generate_experiments(self, t, makedirs):\n"
                     "        yield ['python t.py', 'n', 'r/e_']\nclass E:\n"
                     "    base_name = 'e'; cmd = 'python t.py'; params = []; env_vars = None\n"
                     "RUN_DESCRIPTION = D()\nRUN_DESCRIPTION.experiments = [E()]\n",
}


@pytest.mark.parametrize("odd", ODD_DESCRIPTIONS.values(), ids=ODD_DESCRIPTIONS.keys())
def test_an_odd_description_is_refused_there_as_here_in_the_same_words(env38: Path, tmp_path: Path, odd: str) -> None:
    run = tmp_path / "odd.py"
    run.write_text(odd)
    here = submit("--run", str(run), "--workdir", str(tmp_path / "w"))
    there = submit("--run", str(run), "--python", str(env38), "--workdir", str(tmp_path / "w"))
    assert here[0] == there[0] == 1
    assert here[2] == there[2] and here[2].startswith(f"Error: RUN_DESCRIPTION in {run}")
    assert not (tmp_path / "w").exists()
