"""Copying the PBT history: the first copy of 64 policies x 25 iteration files against a copy that finds nothing new.

    python -m benchmarks.history_copy [ROUNDS]     # default 5

Both sides run in this process on the same record (a print-only launch); the
first side starts each round from the record as it was before any copy.
"""

from __future__ import annotations

import shlex
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import yaml

from benchmarks.common import alternate, record_population
from pbt_tracker.pbt import workspace as pbt_workspace
from pbt_tracker.pbt.history import copy_history
from pbt_tracker.store import open_store

POLICIES = 64
FILES = 25
TARGET_FIRST = 0.2


def write_workspace(workspace: Path) -> None:
    for policy in range(POLICIES):
        directory = workspace / f"{policy:03d}"
        directory.mkdir(parents=True)
        for iteration in range(1, FILES + 1):
            document = {"iteration": iteration, "true_objective": policy + iteration / 100, "frame": iteration * 10**6,
                        "experiment_name": f"bench_{policy}", "params": {"train.params.config.lr": 1e-3, "gamma": 0.99},
                        "checkpoint": str(directory / f"{iteration:06d}.pth"),
                        "pbt_checkpoint": str(directory / f"{iteration:06d}.pth")}
            (directory / f"{iteration:06d}.yaml").write_text(yaml.dump(document))


def timed_copy(workdir: Path) -> tuple[float, tuple[int, int]]:
    store = open_store(workdir)
    try:
        start = time.perf_counter()
        copied = copy_history(store)
        return time.perf_counter() - start, copied
    finally:
        store.close()


def main(rounds: int = 5) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="pbt-track-bench-"))
    try:
        work = record_population(scratch, POLICIES)
        db = work / "pbt_tracker.db"
        (cmd,) = sqlite3.connect(db).execute("SELECT cmd FROM experiments LIMIT 1").fetchone()
        write_workspace(Path(shlex.split(cmd)[-1].partition("=")[2]) / "runs" / "ws")
        pristine = scratch / "pristine.db"
        shutil.copy(db, pristine)
        counts: dict[str, tuple[int, int]] = {}

        def first() -> float:
            shutil.copy(pristine, db)
            elapsed, counts["first"] = timed_copy(work)
            return elapsed

        def again() -> float:
            elapsed, counts["again"] = timed_copy(work)
            return elapsed

        timed_copy(work)  # so that the first "again" round already has everything
        parsed = []
        read_record = pbt_workspace._read_record
        pbt_workspace._read_record = lambda path, number: parsed.append(path) or read_record(path, number)  # type: ignore[assignment]
        try:
            timed_copy(work)
        finally:
            pbt_workspace._read_record = read_record  # type: ignore[assignment]
        medians = alternate({"first": first, "again": again}, rounds)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    met = "met" if medians["first"] <= TARGET_FIRST else "NOT met"
    print(f"history copy of {POLICIES} policies x {FILES} files: first {medians['first'] * 1000:.0f} ms "
          f"({counts['first'][0]} files; target <= {TARGET_FIRST * 1000:.0f} ms: {met}), "
          f"nothing new {medians['again'] * 1000:.0f} ms ({counts['again'][0]} files, {len(parsed)} files parsed); "
          f"ratio first/again {medians['first'] / medians['again']:.1f}")


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:2]))
