"""`pbt-track report` with its sync against its floor: one bare `squeue --jobs` of the tracked ids plus the imports.

For each N given, N held experiments are launched as single jobs in a
workdir of their own and synced once (PENDING on record). Then, alternating,
each round runs `report` (its sync included), the bare `squeue --jobs=<the N
ids>` in the fields sync asks, and `python -c "import sqlite3, click,
tabulate"`; the floor is the sum of the last two medians (sqlalchemy's figure
is printed beside it). Target: 1.3x the floor.

With OTHERS, every N is measured twice in the same run: first alone, then
after OTHERS more held jobs of the same user were sent (a bare sbatch loop,
the user's other work), so that what they add is read side by side: `report`
with them against `report` without (target: at most 10% more than its own
squeue grew) and each ratio to its floor. Every job it created is cancelled
by its id at the end.

    python -m benchmarks.sync_floor N[,N...] [OTHERS] [ROUNDS]     # e.g. 1000 0 5; 100,1000,10000 25000 3
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
import tempfile
from collections import Counter
from pathlib import Path

from benchmarks.cancel_floor import IMPORTS, IMPORTS_SQLALCHEMY, TEMPLATE, cancel_ids, held_jobs, named_leftovers
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
OTHERS_TARGET = 1.1


def tracked_launch(scratch: Path, count: int) -> tuple[Path, list[str]]:
    """A workdir of `count` held single jobs, synced once: the workdir and its job ids."""
    work = scratch / f"w{count}"
    run([PBT_TRACK, "submit", "--run", "benchmarks.many_experiments", "--backend", "slurm", "--workdir",
         str(work), "--slurm_sbatch_template", TEMPLATE, "--slurm_cpus_per_gpu", "1", "--pause_between", "0",
         "--train_dir", str(scratch / "train")],
        {"PBT_TRACK_BENCH_EXPERIMENTS": str(count), "PYTHONPATH": str(REPO_ROOT)})
    db = sqlite3.connect(work / "pbt_tracker.db")
    tracked = [job_id for (job_id,) in db.execute("SELECT job_id FROM submissions WHERE job_id IS NOT NULL")]
    db.close()
    run([PBT_TRACK, "sync", "--workdir", str(work)])  # from SUBMITTED to PENDING once
    return work, tracked


def measure(work: Path, tracked: list[str], rounds: int) -> dict[str, float]:
    wait_for_idle_controller()
    return alternate({
        "report": lambda: run([PBT_TRACK, "report", "--workdir", str(work)]),
        "squeue": lambda: run(squeue_argv(tracked)),
        "imports": lambda: run(IMPORTS),
        "sqlalchemy": lambda: run(IMPORTS_SQLALCHEMY),
    }, rounds)


def describe(count: int, others: int, rounds: int, medians: dict[str, float]) -> float:
    """Print one measurement; its ratio to the floor."""
    floor = medians["squeue"] + medians["imports"]
    ratio = medians["report"] / floor
    print(f"report with its sync over {count:,} tracked held jobs, {others:,} other jobs of the user, {rounds} rounds, "
          f"load {os.getloadavg()[0]:.2f}: report {medians['report']:.3f} s; squeue --jobs of the {count:,} ids "
          f"{medians['squeue']:.3f} s; import sqlite3, click, tabulate {medians['imports']:.3f} s")
    print(f"  against the floor (squeue + imports) {floor:.3f} s: {verdict(ratio, TARGET)}; "
          f"with sqlalchemy's imports ({medians['sqlalchemy']:.3f} s) the ratio is "
          f"{medians['report'] / (medians['squeue'] + medians['sqlalchemy']):.2f}")
    return ratio


def main(counts: list[int], others: int, rounds: int) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="pbt-track-bench-"))
    wrapped, log = counting_wrappers(scratch / "bin")
    created: list[str] = []
    try:
        launches = []
        for count in counts:
            work, tracked = tracked_launch(scratch, count)
            created += tracked
            launches.append((count, work, tracked))
        alone = {count: measure(work, tracked, rounds) for count, work, tracked in launches}
        crowded: dict[int, dict[str, float]] = {}
        if others:
            created += held_jobs(scratch, others)
            crowded = {count: measure(work, tracked, rounds) for count, work, tracked in launches}
        count, work, _ = launches[-1]
        log.unlink(missing_ok=True)
        run([PBT_TRACK, "report", "--workdir", str(work)], wrapped)
        calls = Counter(name for name, _ in logged_calls(log))
    finally:
        cancel_ids(created)
        cancel_ids(named_leftovers(scratch))
        shutil.rmtree(scratch, ignore_errors=True)
    for count in counts:
        ratio = describe(count, 0, rounds, alone[count])
        if count in crowded:
            crowded_ratio = describe(count, others, rounds, crowded[count])
            grown = crowded[count]["report"] / alone[count]["report"]
            squeue_grown = crowded[count]["squeue"] / alone[count]["squeue"]
            added = crowded_ratio / ratio
            print(f"  {others:,} other jobs: report took {grown:.2f}x its time without them, its own squeue "
                  f"{squeue_grown:.2f}x; the ratio to the floor went from {ratio:.2f} to {crowded_ratio:.2f}: "
                  f"{verdict(added, OTHERS_TARGET)}")
    print(f"  report's scheduler calls ({counts[-1]:,} tracked): {dict(calls)}")


if __name__ == "__main__":
    counts_arg = [int(part) for part in sys.argv[1].split(",")]
    numbers = [int(arg) for arg in sys.argv[2:4]]
    main(counts_arg, numbers[0] if numbers else 0, numbers[1] if len(numbers) > 1 else 5)
