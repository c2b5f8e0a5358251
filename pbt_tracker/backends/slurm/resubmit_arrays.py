"""Failed tasks of a job array go out again as an array, with their launch's %N limit, split at MaxArraySize."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from pbt_tracker.backends.slurm import commands as slurm
from pbt_tracker.backends.slurm.array import (
    ArrayTask,
    array_argv_from,
    array_chunks,
    array_log_path,
    array_name,
    array_script_path,
    array_spec,
    job_name_of,
    render_array_script,
    sbatch_options,
)
from pbt_tracker.backends.slurm.script import sbatch_directives
from pbt_tracker.backends.slurm.tags import array_tag, with_tag
from pbt_tracker.launch.record import sha256_text
from pbt_tracker.store import queries, utcnow, writes
from pbt_tracker.store.new_rows import NewSlurmArray, insert


@dataclass(frozen=True)
class ArrayLaunch:
    id: int
    uuid: str
    array_limit: int | None


@dataclass(frozen=True)
class PlannedScript:
    """A recorded Slurm attempt, SUBMITTING, whose script is sent once the transaction has committed."""

    submission_id: int
    experiment: str
    attempt: int
    argv: list[str]
    script_path: Path
    script_text: str
    own_argv: list[str] = field(default_factory=list)  # before its tag
    array_launch: ArrayLaunch | None = None  # set when it failed as a task of an array of this launch
    log_path: str = ""
    new_script: bool = False  # a continuation's, written for the first time
    environment: dict[str, str] | None = None  # its launch's (launch.environment.as_launched); None: the sender's
    group_readable: bool = False  # its launch's `--group-readable`: the mode of the files written for it


@dataclass(frozen=True)
class PlannedArray:
    array_id: int
    argv: list[str]
    names: list[str]
    files: list[tuple[Path, str]]  # the tasks' scripts, then the array's own
    environment: dict[str, str] | None = None  # its launch's, as its tasks'
    group_readable: bool = False


def as_arrays(connection: sqlite3.Connection, workdir: Path,
              planned: list[PlannedScript]) -> tuple[list[PlannedScript], list[PlannedArray]]:
    """The attempts that go alone, and the arrays (recorded here) that carry the rest.

    Tasks are grouped by launch, by their scripts' #SBATCH lines and by their
    sbatch options; a task alone in its group goes out as a job of its own.
    """
    groups: dict[tuple[int, tuple[str, ...], tuple[str, ...]], list[PlannedScript]] = {}
    launches: dict[int, ArrayLaunch] = {}
    alone = []
    for job in planned:
        options = sbatch_options(job.own_argv)
        if job.array_launch is None or options is None:
            alone.append(job)
            continue
        launches[job.array_launch.id] = job.array_launch
        groups.setdefault((job.array_launch.id, sbatch_directives(job.script_text), tuple(options)), []).append(job)
    arrays: list[PlannedArray] = []
    limit = None
    for (launch_id, _directives, array_options), members in groups.items():
        if len(members) < 2:
            alone += members
            continue
        limit = limit or slurm.max_array_size()
        for chunk in array_chunks(len(members), limit):
            arrays.append(_record_array(connection, workdir, launches[launch_id], list(array_options),
                                        [members[index] for index in chunk]))
    return alone, arrays


def _record_array(connection: sqlite3.Connection, workdir: Path, launch: ArrayLaunch, options: list[str],
                  members: list[PlannedScript]) -> PlannedArray:
    path = array_script_path(workdir, launch.uuid, queries.array_count(connection, launch.id))
    log = array_log_path(workdir, path)
    tasks = [ArrayTask(job.script_path, job.script_text, job.log_path) for job in members]
    text = render_array_script(sbatch_directives(members[0].script_text), tasks)
    names = [job_name_of(job.own_argv) for job in members]
    name = array_name([name for name in names if name]) if all(names) else None  # a script named its jobs itself
    argv = array_argv_from(options, path, log, array_spec(len(members), launch.array_limit), name)
    array_id = insert(connection, NewSlurmArray(
        launch_id=launch.id, path=str(path), text=text, sha256=sha256_text(text), argv=argv,
        task_count=len(members), intended_at=utcnow(),
    ))
    argv = with_tag(argv, array_tag(launch.uuid, array_id))
    writes.set_array_argv(connection, array_id, argv)
    for task, job in enumerate(members):
        writes.place_in_array(connection, job.submission_id, job.own_argv, array_id, task)
    return PlannedArray(array_id, argv, [job.experiment for job in members],
                        [*((job.script_path, job.script_text) for job in members), (path, text)],
                        members[0].environment, members[0].group_readable)
