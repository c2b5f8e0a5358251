"""A catalogue of scheduler faults: every fault × every command that talks to Slurm, checked against Slurm itself.

One node cannot make its own Slurm answer empty, fail, hang, print garbage,
lose the answer to a submission it made, refuse a job it has just queued,
accept a cancel it does not carry out, run its clock ten minutes off, or drop
lines from a listing. So each fault is played by stand-ins: programs named
sbatch, squeue, sacct, scontrol and scancel, in a directory put first on PATH
for the one command under test and removed once it returns. Each wraps the
real program (or answers instead of it) as its mode says; `MODES` lists them.

Every combination is a real `pbt-track` process against the real one-node
Slurm, from a workdir laid out beforehand with the real Slurm alone (the
three jobs of tests/fixtures/fault_trio.py: one ended, one failed, one still
running; recorded by a sync, except for `sync` and `report`, which are the
ones to find out). After the command, with the stand-ins gone, one ordinary
`pbt-track sync` runs, and the record is held against squeue's own listing of
the workdir's jobs (taken before and after that sync, as jobs move on
meanwhile):

* no wrong state: every recorded job holds the state Slurm gives it (a final
  state Slurm does not give is a wrong final state; a state the sync should
  have replaced is one left behind), and no submission is SUBMIT_FAILED while
  a job carries its tag;
* none lost: every job Slurm has of the workdir is on record;
* none duplicated: no two jobs carry one submission's tag, and no experiment
  has two jobs queued or running at once;
* the command itself printed no traceback, and when it failed, said so in one
  line on stderr.

The combinations are separate processes on separate workdirs, so a session
fixture runs them a few at a time, each test judges its own, and the last
prints the catalogue's totals. A combination that fails for a known defect
stays in the table as a strict xfail naming it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, query, write_program

# About 70 combinations of a few processes each, on the shared one-node Slurm: minutes, not seconds.
pytestmark = [pytest.mark.slurm, pytest.mark.slow]

PBT_TRACK = str(Path(sys.executable).parent / "pbt-track")
RUN = "tests.fixtures.fault_trio"
DB = "pbt_tracker.db"
SCHEDULER_PROGRAMS = ("sbatch", "squeue", "sacct", "scontrol", "scancel")
HANG_TIMEOUT = 4  # PBT_TRACK_SCHEDULER_TIMEOUT while the stand-ins hang
# Commands that only read states: they wait at most one time-out in all, however many programs hang.
ONE_TIME_OUT = ("sync", "report")
# Slurm's states of a job that will not run again on its own.
SLURM_FINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED",
               "BOOT_FAIL", "DEADLINE"}
RECORD_FINAL = SLURM_FINAL | {"LOST", "SUBMIT_FAILED", "PRINT_ONLY"}
TAG = re.compile(r"pbt-track:[0-9a-f]+:(\d+)")

# No job of its own, only the cpu it needs: the node's four GPUs stay free for the rest of the suite.
TEMPLATE = """#!/bin/bash
#SBATCH --job-name=pbt-track-faults
$CMD
"""

# ---------------------------------------------------------------------------------------------
# The stand-ins
# ---------------------------------------------------------------------------------------------

MODES = {
    "empty": "every program exits 0 and prints nothing, doing nothing",
    "fail": "every program exits 1 with the controller unreachable, doing nothing",
    "hang": f"every program hangs, doing nothing, past a {HANG_TIMEOUT} s PBT_TRACK_SCHEDULER_TIMEOUT",
    "garbage": "every program exits 0 with an HTML error page, doing nothing",
    "lost": "sbatch and scancel do their work, then answer 'Socket timed out' with exit 1",
    "refused": "sbatch and scancel do their work, then answer a refusal with exit 1",
    "scancel-noop": "scancel exits 0 without cancelling anything",
    "shift+600": "squeue, sacct and scontrol print every time 600 s ahead",
    "shift-600": "squeue, sacct and scontrol print every time 600 s behind",
    "dropped": "every program's answer loses every other line (sbatch's job id with it)",
}

STAND_IN = '''#!{python}
import os, re, subprocess, sys, time
from datetime import datetime, timedelta

MODE, NAME, REAL = {mode!r}, {name!r}, {real!r}


def real():
    return subprocess.run([REAL, *sys.argv[1:]], capture_output=True, text=True)


def answer(stdout, stderr, code):
    sys.stdout.write(stdout)
    sys.stderr.write(stderr)
    sys.exit(code)


def shifted(text, seconds):
    def move(match):
        moment = datetime.fromisoformat(match.group(0)) + timedelta(seconds=seconds)
        return moment.strftime("%Y-%m-%dT%H:%M:%S")
    return re.sub(r"\\d{{4}}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d", move, text)


if MODE == "empty":
    sys.exit(0)
if MODE == "fail":
    answer("", NAME + ": error: Unable to contact slurm controller (connect failure)\\n", 1)
if MODE == "hang":
    time.sleep(120)
    sys.exit(0)
if MODE == "garbage":
    answer("<html><body><h1>503 Service Unavailable</h1>\\nNo server is available.\\n</body></html>\\n", "", 0)
if MODE == "lost" and NAME in ("sbatch", "scancel"):
    real()
    answer("", NAME + ": error: Batch job submission failed: Socket timed out on send/recv operation\\n"
           if NAME == "sbatch" else "scancel: error: Kill job error: Socket timed out on send/recv operation\\n", 1)
if MODE == "refused" and NAME in ("sbatch", "scancel"):
    real()
    answer("", "sbatch: error: Batch job submission failed: Invalid account or account/partition combination"
           " specified\\n" if NAME == "sbatch" else "scancel: error: Kill job error: Access/permission denied\\n", 1)
if MODE == "scancel-noop" and NAME == "scancel":
    sys.exit(0)
if MODE.startswith("shift") and NAME in ("squeue", "sacct", "scontrol"):
    done = real()
    answer(shifted(done.stdout, int(MODE[len("shift"):])), done.stderr, done.returncode)
if MODE == "dropped":
    done = real()
    answer("".join(done.stdout.splitlines(keepends=True)[1::2]), done.stderr, done.returncode)
os.execv(REAL, [REAL, *sys.argv[1:]])
'''


def install_stand_ins(directory: Path, mode: str) -> None:
    for name in SCHEDULER_PROGRAMS:
        real = shutil.which(name)
        assert real is not None, f"{name} is not on PATH"
        write_program(directory, name, STAND_IN.format(python=sys.executable, mode=mode, name=name, real=real))


# ---------------------------------------------------------------------------------------------
# The commands
# ---------------------------------------------------------------------------------------------

COMMANDS: dict[str, tuple[str, ...]] = {
    "submit": ("submit", "--run", RUN, "--backend", "slurm", "--workdir", "{W}", "--slurm_sbatch_template", "{TPL}",
               "--slurm_gpus_per_job", "0", "--slurm_cpus_per_gpu", "1", "--pause_between", "0",
               "--train_dir", "{TRAIN}"),
    "sync": ("sync",),
    "report": ("report",),
    "cancel": ("cancel", "--all"),
    "resubmit-failed": ("resubmit-failed",),
    "continue": ("continue", "--job", "{DONE}"),  # from outside the job, after it ended: its next attempt
    "watch --once": ("watch", "--once", "--resume-failed"),
}

# (mode, command) -> the defect that makes the combination fail.
_REFUSAL_TRUSTED = (
    "a refusal printed by sbatch (here 'Invalid account', after Slurm had queued the job) is taken as proof that no "
    "job exists: the submission is SUBMIT_FAILED at once, a final state no sync looks for by its tag, so the job "
    "Slurm runs is not on record (lost) and resubmit-failed or the keeper would send a second copy "
    "(sbatch_answer.classify_sbatch_failure, REFUSAL)"
)
KNOWN_DEFECTS: dict[tuple[str, str], str] = {
    ("refused", command): _REFUSAL_TRUSTED for command in ("submit", "resubmit-failed", "continue", "watch --once")
}


@dataclass(frozen=True)
class Case:
    mode: str
    command: str

    @property
    def id(self) -> str:
        return f"{self.mode}-{self.command.replace(' --', '-')}"


def _param(mode: str, command: str):  # type: ignore[no-untyped-def]
    defect = KNOWN_DEFECTS.get((mode, command))
    marks = [pytest.mark.xfail(strict=True, reason=defect)] if defect else []
    case = Case(mode, command)
    return pytest.param(case, id=case.id, marks=marks)


CASES = [_param(mode, command) for mode in MODES for command in COMMANDS]


# ---------------------------------------------------------------------------------------------
# Slurm's own word
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlurmJob:
    state: str
    script: str
    submission: int | None  # from the tag in the job's comment


def slurm_jobs(workdir: Path) -> dict[str, SlurmJob]:
    """Every job Slurm lists whose batch script lies in `workdir`: the test's ground truth.

    The cluster is shared, and other tests restart its controller: a failed listing is asked again.
    """
    argv = ["squeue", "--noheader", "--states=all", "--Format=JobArrayID:|,State:|,Command:|,Comment:|"]
    for _ in range(30):
        listed = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        if listed.returncode == 0:
            break
        time.sleep(2)
    else:
        raise AssertionError(f"squeue has failed for a minute: {listed.stderr}")
    out = listed.stdout
    jobs = {}
    for line in out.splitlines():
        job_id, state, command, comment = (part.strip() for part in line.split("|")[:4])
        if command.startswith(f"{workdir}/"):
            tag = TAG.search(comment)
            jobs[job_id] = SlurmJob(state, command, int(tag[1]) if tag else None)
    return jobs


def wait_for_slurm(workdir: Path, wanted: dict[str, set[str]], timeout: float = 180) -> dict[str, str]:
    """Until each experiment's job (by script name) is in one of its wanted states; experiment -> job id."""
    deadline = time.monotonic() + timeout
    found: dict[str, str] = {}
    while True:
        jobs = slurm_jobs(workdir)
        for job_id, job in jobs.items():
            for name, states in wanted.items():
                if f"_{name}_" in Path(job.script).name and job.state in states:
                    found[name] = job_id
        if len(found) == len(wanted):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"Slurm shows {jobs} after {timeout} s, not {wanted}")
        time.sleep(0.5)


def pbt_track(argv: list[str], workdir: Path, path: str | None = None,
              extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PBT_TRACK_WORKDIR": str(workdir), **(extra_env or {})}
    if path is not None:
        env["PATH"] = path
    return subprocess.run([PBT_TRACK, *argv], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)


# ---------------------------------------------------------------------------------------------
# One combination
# ---------------------------------------------------------------------------------------------


@dataclass
class Run:
    case: Case
    tmp: Path
    result: dict[str, object] = field(default_factory=dict)

    @property
    def workdir(self) -> Path:
        return self.tmp / "w"


def _prepare(run: Run) -> dict[str, str]:
    """The workdir as the command finds it, made with the real Slurm alone; the values its arguments name."""
    template = run.tmp / "template.sh"
    template.write_text(TEMPLATE)
    values = {"W": str(run.workdir), "TPL": str(template), "TRAIN": str(run.tmp / "train")}
    if run.case.command == "submit":
        return values
    launched = pbt_track(_fill(COMMANDS["submit"], values), run.workdir)
    assert launched.returncode == 0, launched.stdout + launched.stderr
    jobs = wait_for_slurm(run.workdir, {"done": {"COMPLETED"}, "fails": {"FAILED"}, "nap": {"RUNNING"}})
    if run.case.command not in ("sync", "report"):
        synced = pbt_track(["sync"], run.workdir)
        assert synced.returncode == 0, synced.stderr
        states = dict(query(run.workdir / DB, "SELECT job_id, state FROM submissions"))
        assert states[jobs["fails"]] == "FAILED" and states[jobs["nap"]] == "RUNNING", states
    return {**values, "DONE": jobs["done"]}


def _fill(args: tuple[str, ...], values: dict[str, str]) -> list[str]:
    return [arg.format(**values) for arg in args]


def _record(workdir: Path) -> list[tuple[int, str | None, str, str, int]]:
    if not (workdir / DB).exists():
        return []
    return query(workdir / DB, "SELECT s.id, s.job_id, s.state, e.name, s.attempt FROM submissions AS s "
                               "JOIN experiments AS e ON e.id = s.experiment_id ORDER BY s.id")


def _wrong_finals(rows: list[tuple[int, str | None, str, str, int]], slurm: dict[str, SlurmJob]) -> list[str]:
    """Final states the command wrote that Slurm, asked right after it, contradicts: the record is wrong meanwhile."""
    tagged = {job.submission for job in slurm.values()}
    wrong = []
    for submission, job_id, state, name, attempt in rows:
        if state not in RECORD_FINAL:
            continue
        job = slurm.get(job_id) if job_id else None
        if (job_id and (job is None or job.state not in (state, "COMPLETING"))) or (
                not job_id and submission in tagged):
            wrong.append(f"after the command, {name} attempt {attempt} ({job_id or 'no job id'}) was {state}, "
                         f"Slurm said {job.state if job else 'a job carries its tag' if not job_id else 'nothing'}")
    return wrong


def _judge(workdir: Path, before: dict[str, SlurmJob], after: dict[str, SlurmJob]) -> dict[str, list[str]]:
    """What the record gets wrong against Slurm's listings from just before and just after the final sync."""
    rows = _record(workdir)
    scripts = dict(query(workdir / DB, "SELECT sc.path, e.name FROM scripts AS sc "
                                       "JOIN experiments AS e ON e.id = sc.experiment_id")) if rows else {}
    wrong, behind, lost, duplicated, uncertain = [], [], [], [], []
    on_record = {job_id for _, job_id, _, _, _ in rows if job_id}
    tagged = Counter(job.submission for job in after.values() if job.submission is not None)
    for submission, job_id, state, name, attempt in rows:
        what = f"{name} attempt {attempt} ({job_id or 'no job id'}) is {state}"
        if job_id:
            slurm = {job.state for job in (before.get(job_id), after.get(job_id)) if job}
            # A job that moved on during the sync may have been seen on its way (PENDING, RUNNING, COMPLETED).
            moving = len(slurm) > 1 and state not in RECORD_FINAL
            if state not in slurm and not moving:
                (wrong if state in RECORD_FINAL else behind).append(f"{what}, Slurm says {sorted(slurm) or 'nothing'}")
        elif tagged[submission]:
            (wrong if state in RECORD_FINAL else behind).append(f"{what}, but Slurm has a job with its tag")
        elif state == "SUBMIT_UNCERTAIN":
            uncertain.append(what)
        elif state not in RECORD_FINAL:
            behind.append(f"{what}, and Slurm has no job with its tag")
    for job_id, job in after.items():
        if job_id not in on_record:
            lost.append(f"job {job_id} ({Path(job.script).name}, {job.state}) is not on record")
    for submission, count in tagged.items():
        if count > 1:
            duplicated.append(f"{count} jobs carry the tag of submission {submission}")
    live = Counter(scripts.get(job.script, job.script) for job in after.values()
                   if job.state not in SLURM_FINAL | {"COMPLETING"})
    duplicated += [f"{count} jobs of {name} queued or running at once" for name, count in live.items() if count > 1]
    return {"wrong": wrong, "behind": behind, "lost": lost, "duplicated": duplicated, "uncertain": uncertain,
            "slow": []}


def _run(run: Run) -> None:
    case = run.case
    try:
        values = _prepare(run)
        stand_ins = run.tmp / "stand-ins"
        install_stand_ins(stand_ins, case.mode)
        extra = {"PBT_TRACK_SCHEDULER_TIMEOUT": str(HANG_TIMEOUT)} if case.mode == "hang" else {}
        argv = _fill(COMMANDS[case.command], values)
        started = time.monotonic()
        done = pbt_track(argv, run.workdir, path=f"{stand_ins}{os.pathsep}{os.environ['PATH']}", extra_env=extra)
        took = time.monotonic() - started
        shutil.rmtree(stand_ins)  # the real Slurm from here on, for anything the command left running too

        left = _record(run.workdir)  # as the command left it
        uncertain = [name for _, _, state, name, _ in left if state == "SUBMIT_UNCERTAIN"]
        before = slurm_jobs(run.workdir)
        wrong_meanwhile = _wrong_finals(left, before)
        synced = pbt_track(["sync"], run.workdir) if (run.workdir / DB).exists() else None
        after = slurm_jobs(run.workdir)
        judged = _judge(run.workdir, before, after)
        judged["wrong"] = wrong_meanwhile + judged["wrong"]
        if case.mode == "hang" and case.command in ONE_TIME_OUT and took >= 2 * HANG_TIMEOUT:
            judged["slow"] = [f"waited {took:.1f} s for Slurm, more than one {HANG_TIMEOUT} s time-out"]
        run.result = {
            **judged,
            "case": case,
            "traceback": "Traceback" in done.stdout + done.stderr,
            "unclear": _unclear(case, done, uncertain),
            "final_sync": None if synced is None or synced.returncode == 0 else synced.stderr,
            "shown": (f"$ pbt-track {' '.join(argv)}   [{case.mode}: {MODES[case.mode]}]\n"
                      f"exit {done.returncode} after {took:.1f} s\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
                      f"record after the final sync: {json.dumps(_record(run.workdir))}\n"
                      f"Slurm: {json.dumps({job_id: job.state for job_id, job in after.items()})}"),
        }
        (run.tmp / "shown.txt").write_text(str(run.result["shown"]))  # each combination's story, passed or not
    finally:
        live = [job_id for job_id, job in slurm_jobs(run.workdir).items() if job.state not in SLURM_FINAL]
        if live:  # only the jobs this combination made: their scripts lie in its own workdir
            subprocess.run(["scancel", *live], capture_output=True, timeout=60)


# What stderr may hold besides the failure's line: a launch's progress, and a sync's notes.
_PROGRESS = re.compile(r"^\d+/\d+ sent|^Note: ")
# What calls a submission a failure.
_FAILURE = re.compile(r"sbatch failed|failed to submit|not submitted|resubmissions failed", re.IGNORECASE)
# submit tells a launch's failures in its summary on stdout (one line per experiment, then this one) and exits 1.
_SUBMIT_SUMMARY = re.compile(r"^\d+ of \d+ experiments (were not submitted|may have been submitted)")


def _unclear(case: Case, done: subprocess.CompletedProcess[str], uncertain: list[str]) -> str | None:
    """Why the command's output does not tell its failure clearly, or None.

    A failure is one `Error: ` line on stderr (submit: its summary line, last
    on stdout), besides progress and notes. A submission whose answer proved
    nothing (SUBMIT_UNCERTAIN right after the command) may exist: the output
    must say it may have been submitted, and never that it failed.
    """
    told = [line for line in done.stderr.splitlines() if not _PROGRESS.match(line)]
    if done.returncode != 0:
        summary = case.command == "submit" and not told and bool(done.stdout.splitlines()) and bool(
            _SUBMIT_SUMMARY.match(done.stdout.splitlines()[-1]))
        if not summary and not (len(told) == 1 and told[0].startswith("Error: ")):
            return f"exit {done.returncode} without one 'Error: ' line on stderr: {told}"
    output = done.stdout + done.stderr
    for name in uncertain:
        misled = [line for line in output.splitlines()
                  if name in line and "may have been submitted" not in line
                  and _FAILURE.search(line)]
        if misled or "may have been submitted" not in output:
            return f"{name}'s sbatch answer proved nothing (SUBMIT_UNCERTAIN), but the output says {misled or 'nothing of it'}"
    return None


RESULTS: list[dict[str, object]] = []


@pytest.fixture(scope="session")
def fault_runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """Every selected combination, a few at a time: separate processes on separate workdirs need not wait in line."""
    selected = [item.callspec.params["case"] for item in request.session.items
                if getattr(item, "originalname", None) == "test_scheduler_fault" and hasattr(item, "callspec")]
    runs = {case.id: Run(case, tmp_path_factory.mktemp(case.id, numbered=True)) for case in selected}
    with ThreadPoolExecutor(max_workers=6) as pool:
        errors = {run.case.id: error for run, error in zip(runs.values(), pool.map(_catching, runs.values()))}
    for case_id, error in errors.items():
        if error is not None:
            runs[case_id].result = {"error": error}
    return runs


def _catching(run: Run) -> str | None:
    try:
        _run(run)
    except Exception as error:  # one combination's broken set-up must not hide the others' results
        return f"{type(error).__name__}: {error}"
    return None


@pytest.mark.parametrize("case", CASES)
def test_scheduler_fault(case: Case, fault_runs: dict[str, Run]) -> None:
    result = fault_runs[case.id].result
    assert "error" not in result, result.get("error")
    RESULTS.append(result)
    shown = result["shown"]
    assert result["final_sync"] is None, f"the ordinary sync afterwards failed: {result['final_sync']}\n{shown}"
    assert not result["traceback"], shown
    assert not result["unclear"], f"{result['unclear']}\n{shown}"
    for kind in ("wrong", "behind", "lost", "duplicated", "slow"):
        assert result[kind] == [], f"{kind}: {result[kind]}\n{shown}"


def test_zz_scheduler_fault_figures(report_figure) -> None:
    """How the whole catalogue fared, printed at the end of the run."""
    if len(RESULTS) < len(CASES):
        pytest.skip(f"only {len(RESULTS)} of the {len(CASES)} combinations ran; run the whole catalogue for its figures")
    total = {kind: sum(len(result[kind]) for result in RESULTS)  # type: ignore[arg-type]
             for kind in ("wrong", "behind", "lost", "duplicated", "uncertain", "slow")}
    tracebacks = sum(1 for result in RESULTS if result["traceback"])
    unclear = sum(1 for result in RESULTS if result["unclear"])
    report_figure(
        f"scheduler faults: combinations {len(RESULTS)} ({len(MODES)} faults x {len(COMMANDS)} commands, "
        f"known defects {len(KNOWN_DEFECTS)}), wrong final states {total['wrong']}, states left behind "
        f"{total['behind']}, jobs lost {total['lost']}, jobs duplicated {total['duplicated']}, "
        f"tracebacks {tracebacks}, failures not one clear line {unclear}, reads past one time-out {total['slow']}, "
        f"left uncertain {total['uncertain']}"
    )
    clean = [result for result in RESULTS if (result["case"].mode, result["case"].command) not in KNOWN_DEFECTS]
    assert all(not result[kind] for result in clean for kind in ("wrong", "behind", "lost", "duplicated", "slow"))
    assert not any(result["traceback"] or result["unclear"] for result in clean)
