"""Eight pbt-track processes at once on one workdir: no lock error, no lost or doubled job, a sound database.

Each worker loops, for PBT_TRACK_CONCURRENCY_SECONDS (default 30), over a random mix
(seeded per worker, PBT_TRACK_CONCURRENCY_SEED) of real commands, each its own process:
submit (held jobs, which never run), report --format json, sync, cancel by experiment and
by state, resubmit-failed --include-cancelled. Run with -s to see the figures.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, REPO_ROOT, query

PBT_TRACK = str(Path(sys.executable).parent / "pbt-track")
WORKERS = 8
SECONDS = float(os.environ.get("PBT_TRACK_CONCURRENCY_SECONDS", "30"))
SEED = int(os.environ.get("PBT_TRACK_CONCURRENCY_SEED", "20261124"))
COMMAND_TIMEOUT = 300  # several busy timeouts (30 s) in a row would still fit
EXPERIMENTS_PER_LAUNCH = 3  # tests.fixtures.pbt_echo: one experiment per policy, 3 policies

# how often each command is picked
WEIGHTS = {"submit": 3, "report": 2, "sync": 2, "cancel_experiment": 1, "cancel_pending": 1, "resubmit": 2}

LAUNCH_LINE = re.compile(r"^Recorded in (.+) \(launch (\d+)\)$", re.MULTILINE)
NO_DATABASE = "Error: no pbt-track database in "
NO_EXPERIMENT = "Error: no experiment named 01_echo_pbt in this workdir"
LIVE_REFUSAL = "experiment(s) of this run may still run in this workdir"
ENDED_IN_SLURM = {"CANCELLED", "COMPLETED", "FAILED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL",
                  "DEADLINE", "PREEMPTED", "SPECIAL_EXIT", "REVOKED"}


def command_lines(work: Path, train: Path) -> dict[str, list[str]]:
    w = str(work)
    return {
        "submit": ["submit", "--run", "tests.fixtures.pbt_echo", "--backend", "slurm", "--workdir", w,
                   "--slurm_sbatch_template", "tests/fixtures/held_template.sh", "--slurm_cpus_per_gpu", "1",
                   "--pause_between", "0", "--train_dir", str(train)],
        "report": ["report", "--workdir", w, "--format", "json"],
        "sync": ["sync", "--workdir", w],
        "cancel_experiment": ["cancel", "--workdir", w, "--experiment", "01_echo_pbt"],
        "cancel_pending": ["cancel", "--workdir", w, "--state", "PENDING"],
        "resubmit": ["resubmit-failed", "--workdir", w, "--include-cancelled", "--max-attempts", "3"],
    }


def _text(output: str | bytes | None) -> str:
    if output is None:
        return ""
    return output.decode(errors="replace") if isinstance(output, bytes) else output


def worker(index: int, work: Path, train: Path, deadline: float, results_path: Path) -> None:
    """One worker process: pbt-track commands one after the other until the deadline."""
    rng = random.Random(f"{SEED}:{index}")
    lines = command_lines(work, train)
    kinds = list(WEIGHTS)
    weights = [WEIGHTS[kind] for kind in kinds]
    results: list[dict[str, object]] = []
    try:
        while time.time() < deadline:
            kind = rng.choices(kinds, weights)[0]
            argv = [PBT_TRACK, *lines[kind]]
            started = time.time()
            try:
                done = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
                returncode: int | None = done.returncode
                stdout, stderr = done.stdout, done.stderr
            except subprocess.TimeoutExpired as expired:
                returncode = None
                stdout, stderr = _text(expired.stdout), _text(expired.stderr)
            result: dict[str, object] = {
                "worker": index, "kind": kind, "argv": argv, "started": started, "ended": time.time(),
                "returncode": returncode, "stderr": stderr, "traceback": "Traceback" in stdout + stderr,
            }
            if kind == "report":
                try:
                    rows = json.loads(stdout)
                    result["json_error"] = None if isinstance(rows, list) else f"not a list: {type(rows).__name__}"
                except ValueError as error:
                    result["json_error"] = f"{error}; stdout began {stdout[:300]!r}"
                result["stdout"] = ""
            else:
                result["stdout"] = stdout
            results.append(result)
            time.sleep(rng.uniform(0.0, 0.5))  # two cores: leave them some air
    finally:
        results_path.write_text(json.dumps(results))


def slurm_jobs_of(work: Path) -> dict[str, dict[str, str]]:
    """Ground truth: every job Slurm knows whose script lies in `work`, id -> state, times, script."""
    out = subprocess.run(
        ["squeue", "--noheader", "--states=all", "--Format=JobArrayID:|,State:|,SubmitTime:|,EndTime:|,Command:|"],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout
    jobs = {}
    for line in out.splitlines():
        fields = [part.strip() for part in line.split("|")]
        if len(fields) < 5:
            continue
        job_id, state, submitted, ended, command = fields[:5]
        if command.startswith(f"{work}/"):
            jobs[job_id] = {"state": state, "submitted": submitted, "ended": ended, "script": command}
    return jobs


def cancel_every_job_of(work: Path) -> None:
    live = [job_id for job_id, job in slurm_jobs_of(work).items() if job["state"] not in ENDED_IN_SLURM]
    if live:
        subprocess.run(["scancel", *live], capture_output=True, text=True, timeout=120)


@pytest.fixture
def workdir(tmp_path: Path):
    work = tmp_path / "w"
    try:
        yield work
    finally:
        cancel_every_job_of(work)


def _time(value: str) -> float:
    return datetime.fromisoformat(value).timestamp() if value not in {"N/A", "Unknown", "None", ""} else float("inf")


def test_eight_processes_at_once_on_one_workdir(workdir: Path, tmp_path: Path, report_figure) -> None:
    work, train = workdir, tmp_path / "train"
    assert (FIXTURES / "held_template.sh").is_file()
    began = time.monotonic()
    deadline = time.time() + SECONDS
    context = multiprocessing.get_context("fork")
    processes = []
    try:
        for index in range(WORKERS):
            process = context.Process(target=worker, args=(index, work, train, deadline,
                                                           tmp_path / f"worker{index}.json"))
            process.start()
            processes.append(process)
        for process in processes:
            process.join(SECONDS + COMMAND_TIMEOUT + 60)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
                process.join(10)
    assert [process.exitcode for process in processes] == [0] * WORKERS, "a worker process itself failed"
    results = [result for index in range(WORKERS)
               for result in json.loads((tmp_path / f"worker{index}.json").read_text())]
    results.sort(key=lambda result: result["started"])

    # the record exists from the end of the first submit on: before that, saying so is the documented answer
    submits_done = [r["ended"] for r in results if r["kind"] == "submit" and r["returncode"] == 0]
    first_launch_recorded = min(submits_done, default=float("inf"))

    def documented(result: dict) -> bool:
        if result["returncode"] != 1:
            return False
        if result["kind"] == "submit" and LIVE_REFUSAL in result["stderr"] and result["stderr"].count("\n") == 1:
            return True  # a second launch of experiments that may still run is refused, by design
        if result["started"] >= first_launch_recorded:
            return False
        stderr = result["stderr"]
        if stderr.startswith(NO_DATABASE) and stderr.count("\n") == 1:
            return result["kind"] != "submit"
        return result["kind"] == "cancel_experiment" and stderr.startswith(NO_EXPERIMENT) and stderr.count("\n") == 1

    by_kind = Counter(result["kind"] for result in results)
    lock_errors = [r for r in results if re.search("locked|busy", r["stderr"], re.IGNORECASE)]
    tracebacks = [r for r in results if r["traceback"]]
    bad_json = [r for r in results if r["kind"] == "report" and r["returncode"] == 0 and r["json_error"]]
    allowed = [r for r in results if r["returncode"] != 0 and documented(r)]
    failures = [r for r in results if r["returncode"] != 0 and not documented(r)]
    launches_said: list[int] = []
    silent_submits = []
    for result in results:
        if result["kind"] == "submit" and result["returncode"] == 0:
            said = LAUNCH_LINE.findall(result["stdout"])
            found = [int(n) for path, n in said if path == str(work / "pbt_tracker.db")]
            launches_said.extend(found)
            if len(found) != 1:
                silent_submits.append(result)
        elif result["kind"] == "submit":  # a failed submit may still have recorded its launch
            launches_said.extend(int(n) for _path, n in LAUNCH_LINE.findall(result["stdout"]))

    # the record afterwards
    db = work / "pbt_tracker.db"
    assert db.is_file(), "no submit ever created the database"
    integrity = ", ".join(row[0] for row in query(db, "PRAGMA integrity_check"))
    experiments_per_launch = dict(query(
        db, "SELECT l.id, count(e.id) FROM launches l LEFT JOIN experiments e ON e.launch_id = l.id GROUP BY l.id"))
    missing_launches = sorted(n for n in launches_said if n not in experiments_per_launch)
    wrong_size = {n: experiments_per_launch[n] for n in launches_said
                  if n in experiments_per_launch and experiments_per_launch[n] != EXPERIMENTS_PER_LAUNCH}
    submitting = query(db, "SELECT s.id, e.name, s.attempt FROM submissions s "
                           "JOIN experiments e ON e.id = s.experiment_id WHERE s.state = 'SUBMITTING'")
    recorded = {job_id: (experiment_id, name, attempt, state) for job_id, experiment_id, name, attempt, state in query(
        db, "SELECT s.job_id, s.experiment_id, e.name, s.attempt, s.state FROM submissions s "
            "JOIN experiments e ON e.id = s.experiment_id WHERE s.job_id IS NOT NULL")}
    db_states = Counter(state for (state,) in query(db, "SELECT state FROM submissions"))

    # Slurm's side: every job of the workdir recorded; never two live jobs for one experiment
    jobs = slurm_jobs_of(work)
    lost = sorted(set(jobs) - set(recorded), key=int)
    per_experiment: dict[int, list[str]] = defaultdict(list)
    for job_id in jobs:
        if job_id in recorded:
            per_experiment[recorded[job_id][0]].append(job_id)
    duplicated = []  # (experiment, job ids): alive together now, or at some moment (queued before the other ended)
    for experiment_id, ids in per_experiment.items():
        alive_now = [j for j in ids if jobs[j]["state"] != "CANCELLED"]
        if len(alive_now) > 1:
            duplicated.append((recorded[ids[0]][1], experiment_id, "now", sorted(alive_now, key=int)))
            continue
        spans = sorted((_time(jobs[j]["submitted"]), _time(jobs[j]["ended"]) if jobs[j]["state"] in ENDED_IN_SLURM
                        else float("inf"), j) for j in ids)
        for (_s1, end1, first), (start2, _e2, second) in zip(spans, spans[1:]):
            if start2 < end1:
                duplicated.append((recorded[first][1], experiment_id, "overlapping", [first, second]))

    seconds_taken = time.monotonic() - began
    report_figure(f"concurrency: workers {WORKERS}, seconds {SECONDS:g}, commands {len(results)} "
          f"(by kind {', '.join(f'{kind} {by_kind[kind]}' for kind in WEIGHTS)}), "
          f"lock errors {len(lock_errors)}, failures {len(failures)}, launches {len(experiments_per_launch)}, "
          f"jobs submitted {len(jobs)}, lost {len(lost)}, duplicated {len(duplicated)}, integrity {integrity}")
    report_figure(f"concurrency: seed {SEED}, wall time {seconds_taken:.1f} s, documented non-zero exits {len(allowed)} "
          f"(before the first launch was recorded, or a launch of live experiments refused), tracebacks {len(tracebacks)}, invalid JSON reports "
          f"{len(bad_json)}, submissions left SUBMITTING {len(submitting)}, submission states {dict(db_states)}, "
          f"longest command {max((r['ended'] - r['started'] for r in results), default=0):.1f} s")
    quiet_stderr = Counter(r["stderr"].strip() for r in results if r["returncode"] == 0 and r["stderr"].strip())
    for text, count in quiet_stderr.most_common(5):
        print(f"concurrency: stderr of {count} successful command(s): {text[:300]!r}")

    def shown(problems: list[dict]) -> str:
        return "\n".join(f"  worker {r['worker']} {' '.join(r['argv'][1:])!r} -> exit {r['returncode']}, "
                         f"stderr {r['stderr'][-1500:]!r}" for r in problems[:5])

    # the queue is left clean
    cancel_every_job_of(work)
    still_live = {j: job["state"] for j, job in slurm_jobs_of(work).items() if job["state"] not in ENDED_IN_SLURM}

    assert by_kind["submit"] > 0 and len(results) >= WORKERS
    assert not lock_errors, f"{len(lock_errors)} command(s) complained of a lock:\n{shown(lock_errors)}"
    assert not tracebacks, f"{len(tracebacks)} command(s) printed a traceback:\n{shown(tracebacks)}"
    assert not failures, f"{len(failures)} command(s) failed:\n{shown(failures)}"
    assert not bad_json, f"report --format json printed invalid JSON: {[r['json_error'] for r in bad_json[:3]]}"
    assert not silent_submits, f"submits that exited 0 without naming their launch:\n{shown(silent_submits)}"
    assert integrity == "ok"
    assert not missing_launches, f"launches reported but not in the database: {missing_launches}"
    assert not wrong_size, f"launches without exactly {EXPERIMENTS_PER_LAUNCH} experiments: {wrong_size}"
    assert not submitting, f"submissions left SUBMITTING: {submitting}"
    assert not lost, f"jobs in Slurm that the database does not have: {[(j, jobs[j]) for j in lost]}"
    assert not duplicated, f"experiments with two live jobs at once: {duplicated}"
    assert not still_live, f"jobs of the workdir still in the queue after scancel: {still_live}"
