"""`pbt-track report` with its sync over 1,000 tracked held jobs, against the one squeue call it makes.

The squeue side runs the very listing sync asks for (every job of the user),
as a fresh process; the sides alternate. Target: the report costs at most
0.25 s more than that squeue call, in one scheduler call.

    python -m benchmarks.report_sync [ROUNDS]     # default 5
"""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import PBT_TRACK, REPO_ROOT, alternate, counting_wrappers, logged_calls, run
from pbt_tracker.backends.slurm.commands import squeue_argv

TEMPLATE = str(REPO_ROOT / "tests" / "fixtures" / "held_template.sh")
JOBS = 1000
TARGET_EXTRA = 0.25


def main(rounds: int = 5) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="pbt-track-bench-"))
    work = scratch / "w"
    wrapped, log = counting_wrappers(scratch / "bin")
    try:
        run([PBT_TRACK, "submit", "--run", "benchmarks.many_experiments", "--backend", "slurm", "--workdir", str(work),
             "--slurm_sbatch_template", TEMPLATE, "--slurm_cpus_per_gpu", "1", "--pause_between", "0",
             "--train_dir", str(scratch / "train")],
            {"PBT_TRACK_BENCH_EXPERIMENTS": str(JOBS), "PYTHONPATH": str(REPO_ROOT)})
        run([PBT_TRACK, "sync", "--workdir", str(work)])  # held jobs: from SUBMITTED to PENDING once
        medians = alternate(
            {
                "report": lambda: run([PBT_TRACK, "report", "--workdir", str(work)]),
                "squeue": lambda: run(squeue_argv([], user=getpass.getuser(), scripts=True)),
                "imports": lambda: run([sys.executable, "-c", "import sqlite3, click, tabulate"]),
            },
            rounds,
        )
        log.unlink(missing_ok=True)
        run([PBT_TRACK, "report", "--workdir", str(work)], wrapped)
        calls = " ".join(name for name, _ in logged_calls(log)) or "none"
        listed = len(subprocess.run(squeue_argv([], user=getpass.getuser(), scripts=True), capture_output=True,
                                    text=True).stdout.splitlines())
    finally:
        script = work / "scancel.sh"
        if script.exists():
            subprocess.run(["sh", str(script)], check=False)
        shutil.rmtree(scratch, ignore_errors=True)
    extra = medians["report"] - medians["squeue"]
    print(f"report with sync over {JOBS:,} held jobs, {rounds} rounds, load {os.getloadavg()[0]:.2f}: "
          f"report {medians['report'] * 1000:.0f} ms, its squeue alone {medians['squeue'] * 1000:.0f} ms; "
          f"report's own {extra * 1000:.0f} ms (target <= {TARGET_EXTRA * 1000:.0f} ms: "
          f"{'met' if extra <= TARGET_EXTRA else 'NOT met'}); scheduler calls: {calls} (target: squeue)")
    print(f"  squeue listed {listed:,} jobs of the user; for scale, import sqlite3, click, tabulate took "
          f"{medians['imports'] * 1000:.0f} ms side by side")


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:2]))
