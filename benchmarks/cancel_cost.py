"""What `pbt-track cancel --all` costs over 1,000 held jobs: scheduler calls, and pbt-track's own time.

Each round submits 1,000 held jobs (not timed), then cancels them with
wrappers first on PATH that log every scheduler call and its time; pbt-track's
own time is the command's wall time less its scheduler calls', and its own CPU
time is its process's, less what the scheduler calls and their wrappers used.
Target: one scancel, at most one squeue after it, nothing else, and at most
0.2 s of pbt-track's own time (median of the rounds).

    python -m benchmarks.cancel_cost [ROUNDS]     # default 3
"""

from __future__ import annotations

import getpass
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from benchmarks.common import (
    PBT_TRACK,
    REPO_ROOT,
    counting_wrappers,
    logged_calls,
    logged_cpu,
    run,
    run_with_cpu,
    wait_for_idle_controller,
)
from pbt_tracker.backends.slurm.output import squeue_argv

TEMPLATE = str(REPO_ROOT / "tests" / "fixtures" / "held_template.sh")
JOBS = 1000
TARGET_OWN = 0.2


def main(rounds: int = 3) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="pbt-track-bench-"))
    wrapped, log = counting_wrappers(scratch / "bin")
    totals, owns, scancels, imports, cpus, import_cpus, listed = [], [], [], [], [], [], []
    calls: Counter[str] = Counter()
    try:
        for index in range(rounds):
            work = scratch / f"w{index}"
            run([PBT_TRACK, "submit", "--run", "benchmarks.many_experiments", "--backend", "slurm", "--workdir",
                 str(work), "--slurm_sbatch_template", TEMPLATE, "--slurm_cpus_per_gpu", "1", "--pause_between", "0",
                 "--train_dir", str(scratch / "train")],
                {"PBT_TRACK_BENCH_EXPERIMENTS": str(JOBS), "PYTHONPATH": str(REPO_ROOT)})
            log.unlink(missing_ok=True)
            log.with_suffix(".cpu").unlink(missing_ok=True)
            wait_for_idle_controller()
            wall, cpu = run_with_cpu([sys.executable, "-c", "import sqlite3, click, tabulate"])  # for scale
            imports.append(wall)
            import_cpus.append(cpu)
            total, cpu = run_with_cpu([PBT_TRACK, "cancel", "--all", "--workdir", str(work)], wrapped)
            cpus.append(cpu - logged_cpu(log))
            logged = logged_calls(log)
            calls = Counter(name for name, _ in logged)
            totals.append(total)
            owns.append(total - sum(seconds for _, seconds in logged))
            scancels.append(sum(seconds for name, seconds in logged if name == "scancel"))
            order = " ".join(name for name, _ in logged)
            listed.append(len(subprocess.run(squeue_argv([], user=getpass.getuser()),
                                             capture_output=True, text=True).stdout.splitlines()))
            shutil.rmtree(work)
    finally:
        for script in scratch.glob("*/scancel.sh"):
            subprocess.run(["sh", str(script)], check=False)
        shutil.rmtree(scratch, ignore_errors=True)
    own = statistics.median(owns)
    calls_met = calls["scancel"] == 1 and calls["squeue"] <= 1 and sum(calls.values()) == calls["scancel"] + calls["squeue"]
    print(f"cancel --all of {JOBS:,} held jobs, {rounds} rounds, load {os.getloadavg()[0]:.2f}: "
          f"total {statistics.median(totals):.2f} s, scancel {statistics.median(scancels):.2f} s, "
          f"pbt-track's own {own * 1000:.0f} ms (target <= {TARGET_OWN * 1000:.0f} ms: "
          f"{'met' if own <= TARGET_OWN else 'NOT met'}); for scale, import sqlite3, click, tabulate "
          f"{statistics.median(imports) * 1000:.0f} ms")
    own_cpu = statistics.median(cpus)
    print(f"  pbt-track's own CPU time (its process, less the scheduler calls and their wrappers) {own_cpu * 1000:.0f} ms "
          f"(target <= {TARGET_OWN * 1000:.0f} ms: {'met' if own_cpu <= TARGET_OWN else 'NOT met'}); for scale, the "
          f"three imports' {statistics.median(import_cpus) * 1000:.0f} ms; the wall time above also holds waiting "
          "for the 2 cores, which slurmctld, slurmdbd and MariaDB share here while they cancel the jobs")
    print(f"  scheduler calls: {order} (target: one scancel, at most one squeue after it: "
          f"{'met' if calls_met else 'NOT met'}); the squeue after scancel lists every job of the user that Slurm "
          f"still knows, {statistics.median(listed):,.0f} here (ended jobs stay listed for MinJobAge)")


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:2]))
