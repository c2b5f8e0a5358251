"""Start-up of the read commands over 1,000 experiments against importing the three libraries they need.

The record is a launch of 1,000 experiments whose jobs all ended (nothing on
record can change, so no command asks the scheduler); one experiment has a
log. Each read command must start in at most twice the time of
`python -c "import sqlite3, click, tabulate"`. `--help` is shown beside them.

    python -m benchmarks.startup [ROUNDS]     # default 10
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

from benchmarks.common import PBT_TRACK, REPO_ROOT, alternate, run, verdict

EXPERIMENTS = 1000
TARGET = 2.0
NO_SYNC_TARGET = 1.3  # report --no-sync, against the imports: the house refactor may not slow it
NAME = "500_bench"


def build(scratch: Path) -> Path:
    """A print-only launch of 1,000 experiments, then every attempt marked as a job that completed."""
    work = scratch / "w"
    run([PBT_TRACK, "submit", "--run", "benchmarks.many_experiments", "--backend", "slurm", "--workdir", str(work),
         "--slurm_print_only", "true", "--train_dir", str(scratch / "train")],
        {"PBT_TRACK_BENCH_EXPERIMENTS": str(EXPERIMENTS), "PYTHONPATH": str(REPO_ROOT)})
    logs = scratch / "logs"
    logs.mkdir()
    db = sqlite3.connect(work / "pbt_tracker.db")
    with db:
        db.execute("UPDATE submissions SET state = 'COMPLETED', job_id = CAST(100000 + id AS TEXT), exit_code = 0, "
                   "submitted_at = intended_at, started_at = intended_at, ended_at = intended_at, log_path = ?",
                   (str(logs / "slurm-%j.out"),))
        (job_id,) = db.execute("SELECT s.job_id FROM submissions s JOIN experiments e ON e.id = s.experiment_id "
                               "WHERE e.name = ?", (NAME,)).fetchone()
    db.close()
    (logs / f"slurm-{job_id}.out").write_text("iteration 1\niteration 2\n")
    return work


def main(rounds: int = 10) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="pbt-track-bench-"))
    try:
        work = build(scratch)
        at = ["--workdir", str(work)]
        completion = {"_PBT_TRACK_COMPLETE": "bash_complete", "COMP_WORDS": f"pbt-track show {at[0]} {at[1]} {NAME[:2]}",
                      "COMP_CWORD": "4"}
        sides = {
            "imports": lambda: run([sys.executable, "-c", "import sqlite3, click, tabulate"]),
            "report --no-sync": lambda: run([PBT_TRACK, "report", *at, "--no-sync"]),
            "report": lambda: run([PBT_TRACK, "report", *at]),
            "show NAME": lambda: run([PBT_TRACK, "show", NAME, *at]),
            "logs NAME": lambda: run([PBT_TRACK, "logs", NAME, *at]),
            "completion": lambda: run([PBT_TRACK], completion),
            "--help": lambda: run([PBT_TRACK, "--help"]),
        }
        medians = alternate(sides, rounds)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    base = medians["imports"]
    print(f"start-up over {EXPERIMENTS:,} experiments, {rounds} rounds, load {os.getloadavg()[0]:.2f}: "
          f"import sqlite3, click, tabulate {base * 1000:.0f} ms")
    for name in sides:
        if name == "imports":
            continue
        line = f"  pbt-track {name}: {medians[name] * 1000:.0f} ms"
        target = NO_SYNC_TARGET if name == "report --no-sync" else TARGET
        print(line + ("" if name == "--help" else f"; {verdict(medians[name] / base, target)}"))


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:2]))
