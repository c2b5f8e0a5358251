"""Continuity under faults: a PBT population under 1-minute limits with the keeper, against the same one uninterrupted.

Both runs send six toy policies (benchmarks/toy_population.py) with the
plain `#SBATCH --time` template (sbatch_time) and `pbt-track watch
--resume-failed`; the first without a limit and without faults, the second
with 1-minute limits and, each once: a `scontrol requeue` of a first attempt
and of a continuation, two crashes (policy 2 fails by itself, policy 3's
trainer is killed with -9), a user's cancel of policy 4 followed by
`resubmit-failed --include-cancelled`, a `kill -9` of the keeper (a new one is
started at once), and one lost sbatch answer (a stand-in sbatch, as one node
cannot lose one: see benchmarks/continuity_faults.py).

The figures come from evidence pbt-track did not write: the trainer's journal
(each process start and iteration done) and sacct (every run of every job).
Targets: 0 restarts from iteration 0, 0 iterations redone, 0 PBT decisions
(replacements, mutations) undone by a continuation, 0 moments with two
jobs (or two trainer processes) of one policy running, the record equal to
sacct, and each policy's working time (its wall time less Slurm's queue waits
and requeue delays and the user's own pause, printed apart) within 1.10x of
the uninterrupted run's. Needs the real cluster.

    python -m benchmarks.continuity [--iterations 60] [--iteration-seconds 2] [--interval 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import PBT_TRACK, REPO_ROOT
from benchmarks.continuity_faults import CRASHING_POLICY, STAND_IN_SBATCH, Injector, read_attempts
from benchmarks.continuity_figures import (
    SACCT_FORMAT,
    PolicyTime,
    SlurmRun,
    lives,
    newest_states,
    overlapping_lives,
    overlapping_runs,
    parse_journal,
    parse_sacct_runs,
    policy_time,
    record_mismatches,
    redone_iterations,
    restarts_from_zero,
)
from pbt_tracker.report.decisions import decisions_undone
from pbt_tracker.templates import template_path

POLICIES = 6
TARGET = 1.10


def _env(base: Path, args: argparse.Namespace, faults: bool) -> dict[str, str]:
    extra = f"toy.journal={base / 'journal'}"
    if faults:
        extra += f" pbt.fail_once_policy={CRASHING_POLICY} pbt.fail_at_iteration=8"
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    if faults:
        path = f"{base / 'stand-in'}{os.pathsep}{path}"
    return {**os.environ, "PATH": path, "PYTHONPATH": str(REPO_ROOT), "PBT_TRACK_BENCH_POLICIES": str(POLICIES),
            "PBT_TRACK_BENCH_ITERATIONS": str(args.iterations),
            "PBT_TRACK_BENCH_ITERATION_SECONDS": str(args.iteration_seconds), "PBT_TRACK_BENCH_EXTRA": extra}


def _install_stand_in(base: Path) -> None:
    folder = base / "stand-in"
    folder.mkdir()
    real = shutil.which("sbatch")
    if real is None:
        raise SystemExit("sbatch is not on PATH: the continuity benchmark needs the real cluster")
    (folder / "sbatch").write_text(STAND_IN_SBATCH.format(arm=folder / "lose-next-answer", real=real))
    (folder / "sbatch").chmod(0o755)


def run_population(base: Path, args: argparse.Namespace, faults: bool) -> dict[str, object]:
    if faults:
        _install_stand_in(base)
    env = _env(base, args, faults)
    started_at = time.strftime("%Y-%m-%dT%H:%M:%S")
    done = subprocess.run(
        [PBT_TRACK, "submit", "--run", "benchmarks.toy_population", "--backend", "slurm", "--workdir", "w",
         "--train_dir", "train", "--slurm_sbatch_template", str(template_path("sbatch_time")),
         "--slurm_timeout", "1" if faults else "0", "--slurm_cpus_per_gpu", "1", "--slurm_gpus_per_job", "0",
         "--pause_between", "0"], cwd=base, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"submit failed: {done.stderr.strip()}")

    def start_keeper() -> subprocess.Popen[str]:
        return subprocess.Popen([PBT_TRACK, "watch", "--workdir", "w", "--interval", f"{args.interval:g}",
                                 "--resume-failed", "--max-attempts", "30"],
                                cwd=base, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    injector = Injector(base, PBT_TRACK, env, start_keeper, start_keeper())
    deadline = time.monotonic() + args.give_up
    try:
        while injector.keeper.poll() is None:
            if faults:
                injector.poll()
            if time.monotonic() > deadline:
                raise SystemExit(f"the population did not finish within {args.give_up:g} s")
            time.sleep(0.5)
    finally:
        if injector.keeper.poll() is None:
            injector.keeper.terminate()
        jobs = [attempt.job_id for attempt in read_attempts(base / "w" / "pbt_tracker.db") if attempt.job_id]
        if injector.keeper.returncode != 0 and jobs:
            subprocess.run(["scancel", *jobs], capture_output=True)
    if injector.keeper.returncode != 0:
        stderr = injector.keeper.stderr.read() if injector.keeper.stderr else ""
        raise SystemExit(f"the keeper exited {injector.keeper.returncode}: {stderr.strip()}")
    if faults and (missing := injector.missing()):
        raise SystemExit(f"faults that never happened: {', '.join(missing)}; the figures would mean nothing")
    return _figures(base, env, started_at, injector)


def _sacct_runs(base: Path, started_at: str, env: dict[str, str]) -> list[SlurmRun]:
    """Every run of the benchmark's jobs once each has its End: accounting lags the controller by a moment."""
    argv = ["sacct", "--noheader", "--parsable2", "--allocations", "--duplicates", f"--starttime={started_at}",
            f"--format={SACCT_FORMAT}"]
    for _ in range(30):
        runs = parse_sacct_runs(subprocess.run(argv, capture_output=True, text=True, env=env, check=True).stdout,
                                str(base))
        if all(run.end is not None for run in runs):
            break
        time.sleep(1)
    return runs


def _figures(base: Path, env: dict[str, str], started_at: str, injector: Injector) -> dict[str, object]:
    subprocess.run([PBT_TRACK, "sync", "--workdir", "w"], cwd=base, env=env, capture_output=True, check=True)
    journal = parse_journal((base / "journal").read_text())
    attempts = read_attempts(base / "w" / "pbt_tracker.db")
    runs = _sacct_runs(base, started_at, env)
    policy_of = {attempt.job_id: attempt.policy for attempt in attempts if attempt.job_id}
    runs_by_policy: dict[int, list[SlurmRun]] = {}
    for run in runs:
        runs_by_policy.setdefault(policy_of.get(run.job_id, -1), []).append(run)
    times = {policy: policy_time(runs_by_policy.get(policy, [])) for policy in range(POLICIES)}
    return {
        "restarts": restarts_from_zero(journal), "redone": redone_iterations(journal),
        "two_processes": overlapping_lives(lives(journal)), "two_jobs": overlapping_runs(runs_by_policy),
        "mismatches": record_mismatches({a.job_id: a.state for a in attempts if a.job_id}, newest_states(runs)),
        "times": times, "user_pause": injector.user_pause, "attempts": len(attempts), "faults": injector.fired,
        "undone": decisions_undone(base / "w"),
    }


def _report(plain: dict[str, object], faulty: dict[str, object]) -> bool:
    met = True

    def check(label: str, value: object, ok: bool) -> None:
        nonlocal met
        met = met and ok
        print(f"  {label}: {value or 0}  [{'met' if ok else 'NOT met'}]")

    faults = faulty["faults"]
    assert isinstance(faults, dict)
    print("faults, at seconds after submit: " + ", ".join(f"{name} {at:.0f}" for name, at in faults.items()))
    print(f"attempts: {plain['attempts']} uninterrupted, {faulty['attempts']} under faults")
    check("restarts from iteration 0", faulty["restarts"], not faulty["restarts"])
    check("iterations redone", faulty["redone"], not faulty["redone"])
    check("PBT decisions undone by a continuation", faulty["undone"], not faulty["undone"])
    check("moments with two trainer processes of one policy", len(faulty["two_processes"]),  # type: ignore[arg-type]
          not faulty["two_processes"])
    check("moments with two jobs of one policy running (sacct)", len(faulty["two_jobs"]),  # type: ignore[arg-type]
          not faulty["two_jobs"])
    mismatches = faulty["mismatches"]
    assert isinstance(mismatches, list)
    check("record unlike sacct", "; ".join(mismatches) or 0, not mismatches)
    plain_times, faulty_times, pauses = plain["times"], faulty["times"], faulty["user_pause"]
    assert isinstance(plain_times, dict) and isinstance(faulty_times, dict) and isinstance(pauses, dict)
    print("  per policy: uninterrupted working s | under faults: wall, queue waits (of which requeue delays), "
          "user pause, working s | ratio")
    for policy in range(POLICIES):
        before: PolicyTime = plain_times[policy]
        after: PolicyTime = faulty_times[policy]
        pause = pauses.get(policy, 0.0)
        ratio = (after.working - pause) / before.working
        met = met and ratio <= TARGET
        print(f"    policy {policy}: {before.working:6.1f} | {after.wall:6.1f}, {after.queue_waits:5.1f} "
              f"({after.requeue_waits:4.1f}), {pause:4.1f}, {after.working - pause:6.1f} | {ratio:.3f} "
              f"[{'met' if ratio <= TARGET else 'NOT met'}: <= {TARGET}]")
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=60, help="iterations of each policy (default 60)")
    parser.add_argument("--iteration-seconds", type=float, default=2.0)
    parser.add_argument("--interval", type=float, default=2.0, help="the keeper's interval (default 2 s)")
    parser.add_argument("--give-up", type=float, default=900.0, help="seconds before a run is abandoned")
    args = parser.parse_args()
    results = {}
    for label, faults in (("uninterrupted", False), ("under faults", True)):
        with tempfile.TemporaryDirectory(prefix="pbt-track-continuity-") as base:
            started = time.perf_counter()
            results[label] = run_population(Path(base).resolve(), args, faults)
            print(f"{label}: {time.perf_counter() - started:.0f} s", flush=True)
    sys.exit(0 if _report(results["uninterrupted"], results["under faults"]) else 1)


if __name__ == "__main__":
    main()
