"""scancel.sh: the workdir's file that cancels every job the record holds as active, and its text.

It is derived from the record and rewritten whenever the set of active jobs
changes, so that a user without pbt-track at hand (or with the database
lost) can still stop the population with one command. Its text and Slurm's
compact notation for many job ids are pure functions of the ids. Kept apart
from `script` because every cancel and every sync that changes a state
rewrites scancel.sh, and those commands' start-up is timed.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from pathlib import Path

from pbt_tracker.backends.slurm import NAME as SLURM
from pbt_tracker.errors import StoreError
from pbt_tracker.files import write_text_atomic
from pbt_tracker.store import Store, queries

SCANCEL_SCRIPT_NAME = "scancel.sh"


def compact_job_ids(job_ids: Iterable[str]) -> list[str]:
    """Tasks of one array in Slurm's range notation (`42_[0-9,12]`), other ids as they are; first-seen order."""
    groups: dict[tuple[str, str], list[int]] = {}
    for job_id in job_ids:
        array, _, task = job_id.partition("_")
        if task.isdigit():
            groups.setdefault(("array", array), []).append(int(task))
        else:
            groups.setdefault(("job", job_id), [])
    compact = []
    for (kind, name), tasks in groups.items():
        if kind == "job":
            compact.append(name)
        elif len(set(tasks)) == 1:
            compact.append(f"{name}_{tasks[0]}")
        else:
            compact.append(f"{name}_[{_ranges(sorted(set(tasks)))}]")
    return compact


def _ranges(numbers: list[int]) -> str:
    """Sorted numbers as `0-2,5,7-8`."""
    runs = []
    start = previous = numbers[0]
    for number in numbers[1:]:
        if number != previous + 1:
            runs.append(f"{start}" if start == previous else f"{start}-{previous}")
            start = number
        previous = number
    runs.append(f"{start}" if start == previous else f"{start}-{previous}")
    return ",".join(runs)


def scancel_script(job_ids: Iterable[str]) -> str:
    ids = compact_job_ids(job_ids)
    header = "#!/bin/sh\n# Written by pbt-track from its database: the jobs of this workdir that may still run.\n"
    if not ids:
        return header + "# No job to cancel.\n"
    return header + shlex.join(["scancel", *ids]) + "\n"


def write_scancel_script(store: Store) -> Path:
    """Rewrite scancel.sh from the record, so it covers every launch from this workdir."""
    with store.read() as connection:
        job_ids = queries.active_job_ids(connection, SLURM)
    path = store.workdir / SCANCEL_SCRIPT_NAME
    try:
        write_text_atomic(path, scancel_script(job_ids), executable=True)
    except OSError as error:
        if not store.path.exists():
            raise StoreError(
                f"cannot write {path}: {error.strerror}; the workdir's database is gone too ({store.path} was "
                "deleted or moved while pbt-track ran), so no record of these jobs remains there: "
                "`squeue --me` lists them"
            ) from None
        raise StoreError(f"cannot write {path}: {error.strerror}; the database still lists the job ids") from None
    return path
