"""Seeded hostile input over both backends: nothing a name, path, value or template holds runs, or lands elsewhere.

Each case draws a run name, an Experiment name, parameter values, a workdir,
a train dir and a template from shell metacharacters, spaces, line breaks,
tabs, unicode and payloads that would `touch` a canary, up to 4,096
characters, and launches it on Slurm (`--slurm_print_only`: written and
recorded, not submitted) and as local processes (planned; every tenth case,
and every case in the slow tier, run). A case is either refused or written:

* a refusal is a PbtTrackError of one line, and the case's directory is as it was;
* every job script written passes `bash -n`; run under bash (a shipped
  template, with a `python` that writes down its words), it hands the
  experiment exactly the words a local process gets;
* no file appears outside the workdir and the train dir, and the canary never does.

The figures are printed at the end of the run (conftest's `report_figure`).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from pbt_tracker.backends.processes.launch import plan_processes_launch, run_processes_launch
from pbt_tracker.backends.processes.options import ProcessesLaunchOptions
from pbt_tracker.backends.slurm.launch import submit_slurm_launch
from pbt_tracker.backends.slurm.launch_plan import plan_slurm_launch
from pbt_tracker.backends.slurm.options import SlurmLaunchOptions
from pbt_tracker.backends.slurm.script import SlurmResources, render_script
from pbt_tracker.errors import PbtTrackError
from pbt_tracker.processes import command_words
from pbt_tracker.run_description import Experiment, RunDescription
from pbt_tracker.templates import TEMPLATES, template_path
from tests.conftest import write_program

ALPHABET = list("$`\"'\\;|&<>(){}*?[]~#!") + [" ", "  ", "\t", "\n", "ü", "✓", "日本", "\u00a0", "x", "a1", "-", "="]
PAYLOADS = ["$(touch CANARY)", "`touch CANARY`", "; touch CANARY;", "\"; touch CANARY; \"", "'; touch CANARY; '",
            "\ntouch CANARY\n", "|touch CANARY", "&touch CANARY&", "$(touch${IFS}CANARY)", "\\$(touch CANARY)"]
# The quick tier draws the first cases, the slow one the rest: 1,800 cases in all.
QUICK_CASES, SEED = int(os.environ.get("FUZZ_QUICK", 150)), 20261207
SLOW_CASES = max(0, 1800 - QUICK_CASES)
TOTALS: Counter[str] = Counter()

RECORDER = ('#!/bin/sh\nexec "$REAL_PYTHON" -c \'import json, os, sys; '
            'open(os.environ["ARGV_OUT"], "w").write(json.dumps(sys.argv[1:]))\' "$@"\n')


def hostile(rng: random.Random, canary: Path, longest: int = 4096) -> str:
    parts = [rng.choice(ALPHABET) for _ in range(rng.randint(1, 12))]
    if rng.random() < 0.5:
        parts.insert(rng.randint(0, len(parts)), rng.choice(PAYLOADS).replace("CANARY", str(canary)))
    text = "".join(parts)
    if rng.random() < 0.05:
        text = (text * (longest // max(len(text), 1) + 1))[: rng.randint(min(256, longest), longest)]
    return text


QUOTED = list("*?[]{}!~=") + ["ü", "✓", "x", "a,b", "@", "%", "+"]
"""What a shell would read but pbt-track quotes rather than refuses: globs, braces, history marks, unicode."""


def ordinary(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return "".join(rng.choice(QUOTED) for _ in range(rng.randint(1, 8)))
    return rng.choice(["run", "ant", "a.b", "x-1", "0.5", "1e-3", "True", "v_2"])


def maybe(rng: random.Random, canary: Path, odds: float = 0.3) -> str:
    return hostile(rng, canary) if rng.random() < odds else ordinary(rng)


def segment(rng: random.Random, canary: Path, odds: float) -> str:
    """A directory name that may be hostile; never empty, never climbing out of the case's directory."""
    text = maybe(rng, canary, odds).replace("..", "._")
    return text.lstrip("/") or "d"


def template_for(rng: random.Random, case: Path, canary: Path) -> tuple[str | None, bool]:
    """A shipped template, the built-in one, or hostile text; and whether running it is safe to try."""
    pick = rng.random()
    if pick < 0.2:
        return None, True
    if pick < 0.8:
        return str(template_path(rng.choice(list(TEMPLATES)))), True
    lines = ["#!/bin/bash"] + [hostile(rng, canary, 200).replace("\n", " ") for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.7:
        lines.append(rng.choice(["$CMD", "${CMD}", "echo \"$FILENAME\" '$FILENAME' $FILENAME", "# $CMD $FILENAME"]))
    path = case / "template.sh"
    path.write_text("\n".join(lines) + "\n")
    return str(path), False


def snapshot(root: Path) -> dict[str, str]:
    files = {}
    for directory, dirs, names in os.walk(root):
        for name in dirs + names:
            path = Path(directory) / name
            files[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return files


def refused_cleanly(error: PbtTrackError, before: dict[str, str], case: Path, what: str) -> None:
    message = str(error)
    assert message and "\n" not in message and "Traceback" not in message, (what, message)
    assert snapshot(case) == before, (what, message)
    TOTALS[f"{what} refused"] += 1


def only_inside(before: dict[str, str], after: dict[str, str], *dirs: Path) -> None:
    roots = [str(directory.absolute()) + os.sep for directory in dirs]
    for path, digest in after.items():
        if before.get(path) != digest:
            inside = any((path + os.sep).startswith(root) for root in roots)
            above = digest == "dir" and any(root.startswith(path + os.sep) for root in roots)  # a missing parent
            assert inside or above, f"{path!r} written outside {roots}"


def run_rendered(case: Path, text: str, script: Path, argv_out: Path) -> None:
    script.write_text(text)
    subprocess.run(["bash", str(script)], capture_output=True, timeout=60, cwd=case,
                   env={"PATH": f"{case.parent / 'bin'}:/usr/bin:/bin", "REAL_PYTHON": sys.executable,
                        "SLURM_JOB_ID": "77", "ARGV_OUT": str(argv_out), "CALLS": str(case / "calls")})


def one_case(number: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_locally: bool) -> None:
    rng = random.Random(SEED * 100_000 + number)
    canary = tmp_path / "CANARY"
    case = tmp_path / f"case{number}"
    case.mkdir()
    monkeypatch.chdir(case)
    params = [{f"p{index}": maybe(rng, canary, 0.15) for index in range(rng.randint(0, 2))}]
    run = RunDescription(maybe(rng, canary, 0.1).lstrip("/").replace("..", "._") or "r",
                         [Experiment(maybe(rng, canary, 0.1), "python train.py --seed=1", params)],
                         customize_experiment_name=rng.random() < 0.5)
    workdir, train_dir = case / segment(rng, canary, 0.6) / "w", case / segment(rng, canary, 0.15) / "t"
    template, runnable = template_for(rng, case, canary)
    before = snapshot(case)

    try:
        options = SlurmLaunchOptions(workdir=workdir, run_module="m", train_dir=str(train_dir),
                                     resources=SlurmResources(timeout="30"), template_path=template, print_only=True)
        plan = plan_slurm_launch(run, options)
        submit_slurm_launch(plan)
    except PbtTrackError as error:
        refused_cleanly(error, before, case, "slurm")
    else:
        TOTALS["slurm written"] += 1
        after = snapshot(case)
        only_inside(before, after, workdir, train_dir)
        for script in workdir.glob("sbatch_*.sh"):
            assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0, script
            TOTALS["scripts passing bash -n"] += 1
        job = plan.jobs[0]
        if runnable and (template is None or "CMD" in plan.template_text):
            argv_out = workdir / "argv.json"
            run_rendered(case, render_script(plan.template_text, cmd=job.spec.cmd, filename=str(job.script_path),
                                             resources=options.resources, append_cmd=template is None,
                                             pbt_track=[str(case.parent / "bin" / "stand-in")]),
                         job.script_path, argv_out)
            assert json.loads(argv_out.read_text()) == command_words(job.spec.cmd)[1:], job.spec.cmd
            TOTALS["slurm scripts run"] += 1
    assert not canary.exists()

    before = snapshot(case)
    try:
        local = ProcessesLaunchOptions(workdir=workdir.with_name("pw"), run_module="m", train_dir=str(train_dir),
                                       python=str(case.parent / "bin" / "python"), pause_between=0)
        planned = plan_processes_launch(run, local)
    except PbtTrackError as error:
        refused_cleanly(error, before, case, "processes")
        return
    TOTALS["processes planned"] += 1
    if run_locally:
        monkeypatch.setenv("ARGV_OUT", str(local.workdir / "argv.json"))
        result = run_processes_launch(run, local, planned[:1])
        assert result.outcomes[0].state == "COMPLETED", result.outcomes
        assert json.loads((local.workdir / "argv.json").read_text()) == planned[0][1][1:]
        only_inside(before, snapshot(case), local.workdir, train_dir)
        TOTALS["processes run"] += 1
    assert not canary.exists()


@pytest.fixture
def stubs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_program(tmp_path / "bin", "python", RECORDER)
    write_program(tmp_path / "bin", "stand-in", "#!/bin/sh\nexit 0\n")
    monkeypatch.setenv("REAL_PYTHON", sys.executable)


def fuzz(cases: range, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, report_figure, every: int) -> None:  # type: ignore[no-untyped-def]
    TOTALS.clear()
    for number in cases:
        one_case(number, tmp_path, monkeypatch, run_locally=number % every == 0)
    assert not (tmp_path / "CANARY").exists()
    figures = ", ".join(f"{count} {what}" for what, count in sorted(TOTALS.items()))
    report_figure(f"hostile-input fuzz (seed {SEED}, cases {cases.start}-{cases.stop - 1}): {figures}")
    assert TOTALS["slurm written"] and TOTALS["slurm refused"] and TOTALS["processes run"]


@pytest.mark.filterwarnings("ignore:experiment name")
def test_hostile_input_fuzz_quick(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stubs, report_figure) -> None:  # type: ignore[no-untyped-def]
    fuzz(range(QUICK_CASES), tmp_path, monkeypatch, report_figure, every=10)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:experiment name")
def test_hostile_input_fuzz_slow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stubs, report_figure) -> None:  # type: ignore[no-untyped-def]
    fuzz(range(QUICK_CASES, QUICK_CASES + SLOW_CASES), tmp_path, monkeypatch, report_figure, every=1)
