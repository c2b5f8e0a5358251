"""`pbt-track report` with its sync against its floor: one bare `squeue --jobs` of the tracked ids plus the imports.

N held experiments are launched as single jobs and synced once (PENDING on
record); OTHERS more held jobs of the same user are sent by a bare sbatch
loop, as the user's other work. Then, alternating, each round runs `report`
(its sync included), the bare `squeue --jobs=<the N ids>` in the fields sync
asks, and `python -c "import sqlite3, click, tabulate"`; the floor is the sum
of the last two medians (sqlalchemy's figure is printed beside it). Target:
1.3x the floor. Run it with OTHERS 0 and with OTHERS large to see what the
user's other jobs add. Every job it created is cancelled by its id at the end.

    python -m benchmarks.sync_floor N [OTHERS] [ROUNDS]     # e.g. 1000 0 5; 1000 25000 5
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
import tempfile
from collections import Counter
from pathlib import Path

from benchmarks.cancel_floor import IMPORTS, IMPORTS_SQLALCHEMY, TEMPLATE, cancel_ids, held_jobs
from benchmarks.common import (
    PBT_TRACK,
    REPO_ROOT,
    alternate,
    counting_wrappers,
    logged_calls,
    run,
    verdict,
    wait_for_idle_controller,
)
from pbt_tracker.backends.slurm.output import squeue_argv

TARGET = 1.3


def main(count: int, others: int, rounds: int) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="pbt-track-bench-"))
    work = scratch / "w"
    wrapped, log = counting_wrappers(scratch / "bin")
    created: list[str] = []
    try:
        created += held_jobs(scratch, others)
        run([PBT_TRACK, "submit", "--run", "benchmarks.many_experiments", "--backend", "slurm", "--workdir",
             str(work), "--slurm_sbatch_template", TEMPLATE, "--slurm_cpus_per_gpu", "1", "--pause_between", "0",
             "--train_dir", str(scratch / "train")],
            {"PBT_TRACK_BENCH_EXPERIMENTS": str(count), "PYTHONPATH": str(REPO_ROOT)})
        db = sqlite3.connect(work / "pbt_tracker.db")
        tracked = [job_id for (job_id,) in db.execute("SELECT job_id FROM submissions WHERE job_id IS NOT NULL")]
        db.close()
        created += tracked
        run([PBT_TRACK, "sync", "--workdir", str(work)])  # from SUBMITTED to PENDING once
        wait_for_idle_controller()
        medians = alternate({
            "report": lambda: run([PBT_TRACK, "report", "--workdir", str(work)]),
            "squeue": lambda: run(squeue_argv(tracked)),
            "imports": lambda: run(IMPORTS),
            "sqlalchemy": lambda: run(IMPORTS_SQLALCHEMY),
        }, rounds)
        log.unlink(missing_ok=True)
        run([PBT_TRACK, "report", "--workdir", str(work)], wrapped)
        calls = Counter(name for name, _ in logged_calls(log))
    finally:
        cancel_ids(created)
        shutil.rmtree(scratch, ignore_errors=True)
    floor = medians["squeue"] + medians["imports"]
    print(f"report with its sync over {count:,} tracked held jobs, {others:,} other jobs of the user, {rounds} rounds, "
          f"load {os.getloadavg()[0]:.2f}: report {medians['report']:.3f} s; squeue --jobs of the {count:,} ids "
          f"{medians['squeue']:.3f} s; import sqlite3, click, tabulate {medians['imports']:.3f} s")
    print(f"  against the floor (squeue + imports) {floor:.3f} s: {verdict(medians['report'] / floor, TARGET)}; "
          f"with sqlalchemy's imports ({medians['sqlalchemy']:.3f} s) the ratio is "
          f"{medians['report'] / (medians['squeue'] + medians['sqlalchemy']):.2f}")
    print(f"  report's scheduler calls: {dict(calls)}")


if __name__ == "__main__":
    args = [int(arg) for arg in sys.argv[1:4]]
    main(args[0], args[1] if len(args) > 1 else 0, args[2] if len(args) > 2 else 5)
