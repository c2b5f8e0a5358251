"""`pbt-track plot` of 64 policies x 10,000 iterations: wall time and peak memory of the whole command.

    python -m benchmarks.plot_scaling [ROUNDS]     # default 3

The record is a print-only launch whose history is written straight into
pbt_iterations (as sync would have copied it): each policy restarts once, at
iteration 4,000, as a new life, and takes another policy's weights every 500
iterations. The command runs as a fresh process each round, with --no-sync
(no scheduler); the history copy it starts with finds nothing new.
"""

from __future__ import annotations

import shutil
import sqlite3
import statistics
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from benchmarks.common import PBT_TRACK, peak_rss_mb, record_population
from pbt_tracker.store import open_store
from pbt_tracker.store.history import NewEvent, NewIteration, insert_events, insert_iterations

POLICIES = 64
ITERATIONS = 10_000
RESTART_AT = 4_000
REPLACED_EVERY = 500
TARGET_SECONDS = 5.0
TARGET_MB = 300.0


def fill_history(work: Path) -> int:
    """Writes the history of every policy; the number of rows."""
    connection = sqlite3.connect(work / "pbt_tracker.db")
    experiments = connection.execute("SELECT e.id, e.position, s.id FROM experiments AS e JOIN submissions AS s "
                                      "ON s.experiment_id = e.id ORDER BY e.id").fetchall()
    connection.close()
    start = datetime(2027, 1, 1)
    store = open_store(work)
    rows = 0
    try:
        for experiment_id, policy, submission_id in experiments:
            iterations = []
            for step in range(ITERATIONS):
                life, iteration = (1, step + 1) if step < RESTART_AT else (2, step - RESTART_AT + 1)
                iterations.append(NewIteration(
                    experiment_id=experiment_id, policy=policy, iteration=iteration,
                    true_objective=policy + iteration / 100, frame=iteration * 65_536,
                    experiment_name=f"bench_{policy}_life{life}", params={"lr": 1e-3},
                    checkpoint=f"/ws/{policy:03d}/{iteration:06d}.pth",
                    file_key=f"{policy:03d}/{iteration:06d}.yaml@{step}",
                    file_mtime=start + timedelta(seconds=step), observed_at=start,
                ))
            events = [NewEvent(submission_id=submission_id, policy=policy, donor=(policy + 1) % POLICIES,
                               iteration=iteration, checkpoint="/ws/x.pth", log_offset=iteration, line="",
                               observed_at=start) for iteration in range(REPLACED_EVERY, ITERATIONS, REPLACED_EVERY)]
            with store.write() as connection:
                rows += insert_iterations(connection, iterations)
                insert_events(connection, events)
    finally:
        store.close()
    return rows


def main(rounds: int = 3) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="pbt-track-bench-"))
    try:
        work = record_population(scratch, POLICIES)
        rows = fill_history(work)
        measured = {suffix: [peak_rss_mb([PBT_TRACK, "plot", "--workdir", str(work), "--no-sync",
                                          "--output", str(scratch / f"plot{suffix}")]) for _ in range(rounds)]
                    for suffix in (".png", ".svg")}
        sizes = {suffix: (scratch / f"plot{suffix}").stat().st_size for suffix in measured}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for suffix, results in measured.items():
        seconds = statistics.median(elapsed for elapsed, _mb in results)
        peak = max(mb for _elapsed, mb in results)
        met = "met" if seconds <= TARGET_SECONDS and peak <= TARGET_MB else "NOT met"
        print(f"plot {suffix[1:]} of {POLICIES} policies x {ITERATIONS:,} iterations ({rows:,} rows): "
              f"{seconds:.2f} s, peak memory {peak:.0f} MB, file {sizes[suffix] / 1e6:.1f} MB "
              f"(target <= {TARGET_SECONDS:g} s and {TARGET_MB:g} MB: {met})")


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:2]))
