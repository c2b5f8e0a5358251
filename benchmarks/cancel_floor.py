"""`pbt-track cancel` against its floor: the bare scancel of the same jobs plus the three imports' start-up.

Each round submits two sets of held jobs (not timed): one for pbt-track to
cancel, one for a bare `scancel` of the same ids (or of the array's id); the
order alternates between rounds and the medians are compared (each round's own ratio is printed
too, as a median and a range: the machine's speed drifts between rounds). The floor is
that scancel's median plus the median of `python -c "import sqlite3, click,
tabulate"` (the imports the read commands are held to); the figure with
sqlalchemy in place of sqlite3 is printed beside it. Targets: 1.3x.

- `array`: a held array of N tasks, cancelled with `cancel --all`, against
  `scancel ARRAYID`;
- `jobs`: N held single jobs, cancelled with `cancel --all`, against
  `scancel ID ID ...`.

Every job a round creates is cancelled by its ids before the next round,
whatever happened. Scheduler calls of pbt-track's cancel are counted once.

    python -m benchmarks.cancel_floor array 1000 [ROUNDS]
    python -m benchmarks.cancel_floor jobs 200|1000|10000 [ROUNDS]
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchmarks.common import (
    PBT_TRACK,
    REPO_ROOT,
    counting_wrappers,
    logged_calls,
    run,
    verdict,
    wait_for_idle_controller,
)

TARGET = 1.3
IMPORTS = [sys.executable, "-c", "import sqlite3, click, tabulate"]
IMPORTS_SQLALCHEMY = [sys.executable, "-c", "import sqlalchemy, click, tabulate"]
TEMPLATE = str(REPO_ROOT / "tests" / "fixtures" / "held_template.sh")


def held_jobs(scratch: Path, count: int) -> list[str]:
    """`count` held single jobs sent by a bare sbatch loop: the bare scancel's side."""
    script = scratch / "held.sh"
    script.write_text("#!/bin/sh\ntrue\n")
    ids = []
    for _ in range(count):
        ids.append(_sbatch(["sbatch", "--hold", "--parsable", "--output=/dev/null", f"--job-name={held_name(scratch)}",
                            str(script)]))
    return ids


def held_name(scratch: Path) -> str:
    """This run's own job name: what a lost sbatch answer queued is found by it and cancelled by its id."""
    return f"pbt-track-held-{scratch.name}"


def _sbatch(argv: list[str]) -> str:
    """A job id; a busy controller's refusal (a timed-out socket) is tried again a few times, then shown."""
    for attempt in range(5):
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode == 0:
            return done.stdout.strip().split(";")[0]
        time.sleep(1 + attempt)
    raise SystemExit(f"sbatch failed five times: {done.stderr.strip()}")


def named_leftovers(scratch: Path) -> list[str]:
    """Ids of this run's held jobs still queued, sent by an sbatch whose answer was lost among them."""
    listed = subprocess.run(["squeue", "--noheader", "--format=%i", f"--name={held_name(scratch)}"],
                            capture_output=True, text=True)
    return listed.stdout.split() if listed.returncode == 0 else []


def held_array(scratch: Path, count: int) -> str:
    script = scratch / "held.sh"
    script.write_text("#!/bin/sh\ntrue\n")
    done = subprocess.run(["sbatch", "--hold", "--parsable", "--output=/dev/null", f"--array=0-{count - 1}",
                           f"--job-name={held_name(scratch)}", str(script)], capture_output=True, text=True, check=True)
    return done.stdout.strip().split(";")[0]


def launch(scratch: Path, work: Path, count: int, array: bool) -> list[str]:
    """A pbt-track launch of `count` held experiments (one array with `array`): its job ids."""
    run([PBT_TRACK, "submit", "--run", "benchmarks.many_experiments", "--backend", "slurm", "--workdir", str(work),
         "--slurm_sbatch_template", TEMPLATE, "--slurm_cpus_per_gpu", "1", "--pause_between", "0",
         "--train_dir", str(scratch / "train"), *(["--slurm_array", "true"] if array else [])],
        {"PBT_TRACK_BENCH_EXPERIMENTS": str(count), "PYTHONPATH": str(REPO_ROOT)})
    import sqlite3

    db = sqlite3.connect(work / "pbt_tracker.db")
    ids = [job_id for (job_id,) in db.execute("SELECT job_id FROM submissions WHERE job_id IS NOT NULL")]
    db.close()
    return ids


def cancel_ids(ids: list[str]) -> None:
    """Exactly the ids this benchmark created (an array by its id), a few thousand per scancel."""
    arrays = list(dict.fromkeys(job_id.split("_")[0] for job_id in ids))
    for start in range(0, len(arrays), 2000):
        subprocess.run(["scancel", *arrays[start:start + 2000]], check=False, capture_output=True)


def main(kind: str, count: int, rounds: int) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="pbt-track-bench-"))
    wrapped, log = counting_wrappers(scratch / "bin")
    times: dict[str, list[float]] = {"pbt-track": [], "scancel": [], "imports": [], "sqlalchemy": []}
    created: list[str] = []
    calls: Counter[str] = Counter()
    call_seconds: dict[str, float] = {}
    try:
        for index in range(rounds):
            work = scratch / f"w{index}"
            ours = launch(scratch, work, count, kind == "array")
            created += ours
            bare = [held_array(scratch, count)] if kind == "array" else held_jobs(scratch, count)
            created += bare
            wait_for_idle_controller()
            sides = {
                "pbt-track": lambda: run([PBT_TRACK, "cancel", "--all", "--workdir", str(work)],
                                         wrapped if index == 0 else None),
                "scancel": lambda: run(["scancel", *bare]),
                "imports": lambda: run(IMPORTS),
                "sqlalchemy": lambda: run(IMPORTS_SQLALCHEMY),
            }
            order = list(sides) if index % 2 == 0 else list(reversed(sides))
            for name in order:
                times[name].append(sides[name]())
                if name in ("pbt-track", "scancel"):
                    wait_for_idle_controller()
            if index == 0:
                calls = Counter(name for name, _ in logged_calls(log))
                call_seconds = {}
                for name, seconds in logged_calls(log):
                    call_seconds[name] = call_seconds.get(name, 0.0) + seconds
                states = Counter(state for (state,) in _states(work))
            cancel_ids(ours + bare)
    finally:
        cancel_ids(created)
        cancel_ids(named_leftovers(scratch))
        shutil.rmtree(scratch, ignore_errors=True)
    med = {name: statistics.median(values) for name, values in times.items()}
    floor = med["scancel"] + med["imports"]
    what = f"a held array of {count:,} tasks" if kind == "array" else f"{count:,} held jobs"
    bare_text = "scancel ARRAYID" if kind == "array" else f"scancel with the {count:,} ids"
    print(f"cancel --all of {what}, {rounds} rounds, load {os.getloadavg()[0]:.2f}: pbt-track "
          f"{med['pbt-track']:.3f} s; {bare_text} {med['scancel']:.3f} s; import sqlite3, click, tabulate "
          f"{med['imports']:.3f} s")
    print(f"  against the floor (scancel + imports) {floor:.3f} s: {verdict(med['pbt-track'] / floor, TARGET)}")
    paired = sorted(ours / (bare + imports)  # each round against its own floor: the machine drifts between rounds
                    for ours, bare, imports in zip(times["pbt-track"], times["scancel"], times["imports"]))
    print(f"  round by round, against that round's floor: median {statistics.median(paired):.2f}, "
          f"from {paired[0]:.2f} to {paired[-1]:.2f} (the verdict is the line above)")
    floor_sqlalchemy = med["scancel"] + med["sqlalchemy"]
    print(f"  with sqlalchemy in place of sqlite3 ({med['sqlalchemy']:.3f} s) the floor is {floor_sqlalchemy:.3f} s: "
          f"ratio {med['pbt-track'] / floor_sqlalchemy:.2f}")
    print(f"  pbt-track's scheduler calls (first round): {dict(calls)}, taking "
          + ", ".join(f"{name} {seconds:.3f} s" for name, seconds in call_seconds.items())
          + f"; states after: {dict(states)}")


def _states(work: Path) -> list[tuple[str]]:
    import sqlite3

    db = sqlite3.connect(work / "pbt_tracker.db")
    rows = db.execute("SELECT state FROM submissions").fetchall()
    db.close()
    return rows


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 3)
