"""Naming many jobs to Slurm at once: a whole array by its id, part of one by its task ranges.

scancel sends the controller one request per argument, so the tasks of an
array named one by one (`7_0 7_1 ... 7_999`) are a thousand requests, where
`7` (every task) or `7_[0-99,200-299]` (some) is one. squeue asked about an
array's id lists its tasks, and the one record of tasks that never started
(`7_[4-9]`, or `7` once they are all cancelled), which `expand_array_records`
reads back as each task's. Pure functions, tested on literal ids.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TypeVar

from pbt_tracker.backends.slurm.output import JobObservation, array_task_ids

_TASK_RE = re.compile(r"(\d+)_(\d+)")
T = TypeVar("T")


def task_ranges(tasks: Iterable[int]) -> str:
    """Slurm's notation for a set of task ids: 0-3,5,7-9."""
    parts: list[str] = []
    ordered = sorted(set(tasks))
    start = previous = None
    for task in [*ordered, None]:
        if previous is not None and task == previous + 1:
            previous = task
            continue
        if start is not None:
            parts.append(str(start) if start == previous else f"{start}-{previous}")
        start = previous = task
    return ",".join(parts)


def scancel_arguments(jobs: Iterable[tuple[str, int | None]]) -> list[tuple[str, list[str]]]:
    """Each scancel argument with the job ids it names, from (job id, its array's task count or None).

    An array all of whose tasks are given is named by its id alone; one of
    which only some are, by its id and their ranges. Other ids go as they are.
    """
    arrays: dict[str, tuple[int | None, list[tuple[int, str]]]] = {}
    order: list[str] = []
    for job_id, array_tasks in jobs:
        array, underscore, task = job_id.partition("_")  # `7_3`; not a regex per id: a cancel may name thousands
        if not (underscore and array.isdecimal() and task.isdecimal()):
            if job_id not in arrays:
                arrays[job_id] = (None, [])
                order.append(job_id)
            continue
        if array not in arrays:
            arrays[array] = (array_tasks, [])
            order.append(array)
        arrays[array][1].append((int(task), job_id))
    arguments = []
    for key in order:
        count, tasks = arrays[key]
        if not tasks:
            arguments.append((key, [key]))
            continue
        numbers = {number for number, _ in tasks}
        job_ids = list(dict.fromkeys(job_id for _, job_id in tasks))
        whole = count is not None and numbers == set(range(count))
        arguments.append((key if whole else f"{key}_[{task_ranges(numbers)}]", job_ids))
    return arguments


def query_ids(job_ids: Iterable[str]) -> list[str]:
    """What squeue is asked about for these jobs: each array's id once for its tasks, other ids as they are."""
    return list(dict.fromkeys(match.group(1) if (match := _TASK_RE.fullmatch(job_id)) else job_id
                              for job_id in job_ids))


def expand_array_records(jobs: dict[str, T], wanted: Iterable[str], named: Callable[[T, str], T]) -> dict[str, T]:
    """`jobs` with each wanted task that has no line of its own given the record of its array that covers it.

    `7_[4-9%2]` covers tasks 4 to 9; a bare `7` (what squeue and sacct list
    once every task of an array that never started is cancelled by its
    ranges) covers every task of array 7. `named(record, task)` is the record
    as the task's own. Ranges cut short (`7_[1,3,5,7...]`, or `7_[1,3,1`
    without the bracket) cover nothing: a cut one may name a task it lacks.
    """
    missing = [job_id for job_id in wanted if job_id not in jobs and _TASK_RE.fullmatch(job_id)]
    if not missing:
        return jobs
    covering: dict[str, T] = {}
    for key, record in jobs.items():
        array, _, spec = key.partition("_")
        if spec.startswith("[") and spec.endswith("]") and "..." not in spec:  # a cut one names tasks it lacks
            covering.update((f"{array}_{task}", record) for task in array_task_ids(spec[1:-1]))
    expanded = dict(jobs)
    for job_id in missing:
        array = job_id.partition("_")[0]
        if job_id in covering:
            expanded[job_id] = named(covering[job_id], job_id)
        elif array in jobs:
            expanded[job_id] = named(jobs[array], job_id)
    return expanded


def observation_of(record: JobObservation, job_id: str) -> JobObservation:
    return record._replace(job_id=job_id)


def observations_of(records: list[JobObservation], job_id: str) -> list[JobObservation]:
    return [record._replace(job_id=job_id) for record in records]
