"""Every shipped template, rendered with a hostile workdir, train dir and experiment name, runs nothing they hold.

Each payload tries to run `touch CANARY` from where the template puts the
value: unquoted, in double quotes, inside `$(...)` within double quotes, in
a comment. The job script is rendered by pbt-track's own planning, then run
under bash with a `python` that writes down the words it was given and a
stand-in pbt-track: the canary must never appear, the experiment must get
exactly the words a local process would get, and `pbt-track continue` the
workdir as it is.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from pbt_tracker.backends.slurm.launch_plan import plan_slurm_launch
from pbt_tracker.backends.slurm.options import SlurmLaunchOptions
from pbt_tracker.backends.slurm.script import SlurmResources, render_script
from pbt_tracker.errors import PbtTrackError
from pbt_tracker.processes import command_words
from pbt_tracker.run_description import Experiment, RunDescription
from pbt_tracker.templates import TEMPLATES, template_path
from tests.conftest import write_program

# Each holds `CANARY`, replaced by the canary's absolute path.
PAYLOADS = [
    "w$(touch CANARY)",
    "w`touch CANARY`",
    'w"; touch CANARY; "',
    "w'; touch CANARY; '",
    'w\\"$(touch CANARY)\\"',
    "w$(touch${IFS}CANARY)x",
    "w #$(touch CANARY)",
    "w;touch CANARY|&<>(){}*?[]~#!",
    "w ü ✓ $((1+1)) $$ ${HOME} \\$(touch CANARY)",
]

RECORDER = '#!/bin/sh\nexec "$REAL_PYTHON" -c \'import json, os, sys; open(os.environ["ARGV_OUT"], "w").write(json.dumps(sys.argv[1:]))\' "$@"\n'



def plan(tmp_path: Path, workdir: Path, train_dir: Path, name: str, template: str | None):
    run = RunDescription("run", [Experiment(name, "python train.py --seed=1", [{"lr": 0.5}])],
                         customize_experiment_name=False)
    options = SlurmLaunchOptions(workdir=workdir, run_module="m", train_dir=str(train_dir),
                                 resources=SlurmResources(timeout="5"), template_path=template, print_only=True)
    return plan_slurm_launch(run, options)


def run_script(tmp_path: Path, text: str, script: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script.write_text(text)
    return subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                          env={"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin", "REAL_PYTHON": os.environ.get(
                              "REAL_PYTHON", __import__("sys").executable), "SLURM_JOB_ID": "77", **env})


@pytest.mark.parametrize("template", [None, *TEMPLATES])
@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_hostile_workdir_and_train_dir_run_nothing_in_any_shipped_template(tmp_path: Path, template: str | None,
                                                                             payload: str) -> None:
    canary = tmp_path / "CANARY"
    text = payload.replace("CANARY", str(canary))
    workdir = tmp_path / text / "w"
    (tmp_path / "bin").mkdir()
    write_program(tmp_path / "bin", "python", RECORDER)
    stand_in = write_program(tmp_path / "bin", "pbt-track-stand-in", '#!/bin/sh\nprintf "%s\\n" "$@" > "$CALLS"\n')
    path = str(template_path(template)) if template else None
    try:
        planned = plan(tmp_path, workdir, tmp_path / text / "t", "00_a", path)
    except PbtTrackError as refused:  # a template may refuse a payload; it must say so in one line
        assert "\n" not in str(refused)
        pytest.fail(f"a workdir pbt-track can quote was refused: {refused}")
    job = planned.jobs[0]
    assert subprocess.run(["bash", "-n"], input=job.script_text, text=True).returncode == 0
    template_text = planned.template_text
    rendered = render_script(template_text, cmd=job.spec.cmd, filename=str(job.script_path),
                             resources=SlurmResources(timeout="5"), append_cmd=template is None,
                             pbt_track=[str(stand_in)])
    workdir.mkdir(parents=True)
    argv_out, calls = tmp_path / "argv.json", tmp_path / "calls"
    done = run_script(tmp_path, rendered, job.script_path, {"ARGV_OUT": str(argv_out), "CALLS": str(calls)})
    assert not canary.exists(), done.stderr
    assert json.loads(argv_out.read_text()) == command_words(job.spec.cmd)[1:]
    assert json.loads(argv_out.read_text())[-1] == f"--train_dir={tmp_path / text / 't'}/run/00_a_"
    if template == "timeout_continue":  # the requeued branch hands the workdir to `pbt-track continue`
        done = run_script(tmp_path, rendered, job.script_path,
                          {"ARGV_OUT": str(argv_out), "CALLS": str(calls), "SLURM_RESTART_COUNT": "1"})
        assert calls.read_text() == f"continue\n--workdir\n{workdir}\n--job\n77\n"
    assert not canary.exists()


@pytest.mark.parametrize("name", ["a b", "a$(touch x)", "a;b", "a'b", "a\"b", "a\nb", "../a", "a/b", "ü", "a" * 300])
def test_a_hostile_experiment_name_is_refused_in_one_line_before_anything_is_written(tmp_path: Path, name: str) -> None:
    with pytest.raises(PbtTrackError) as refused:
        plan(tmp_path, tmp_path / "w", tmp_path / "t", name, None)
    assert "\n" not in str(refused.value)
    assert not (tmp_path / "w").exists() and not (tmp_path / "t").exists()


@pytest.mark.parametrize("path", ["w\nx", "w\rx", "w\0x"])
def test_a_workdir_with_a_line_break_or_nul_is_refused(tmp_path: Path, path: str) -> None:
    with pytest.raises(PbtTrackError) as refused:
        plan(tmp_path, tmp_path / path, tmp_path / "t", "a", None)
    assert str(refused.value).startswith("--workdir ")
    assert str(refused.value).endswith("which pbt-track's scripts and the scheduler's listings cannot carry safely; "
                                       "choose a path without one")
    assert os.listdir(tmp_path) == []
