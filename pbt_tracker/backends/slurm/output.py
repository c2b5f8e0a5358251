"""What Slurm's commands print, read into observations: pure functions, tested on literal output.

squeue, sacct and scontrol each describe a job in their own format; these
turn every one of them into the same `JobObservation`, so that the sync's
rules need not know which command spoke.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime, timezone
from functools import lru_cache
from typing import NamedTuple

from pbt_tracker import states

# JobArrayID prints array tasks as 428_2, as sacct and scontrol name them (JobID would print 430).
# Comment comes last in both, so that a comment holding the separator cannot shift the other fields.
SQUEUE_FIELDS = (
    "JobArrayID", "State", "exit_code", "NodeList", "StartTime", "EndTime", "SubmitTime", "Reason", "Partition",
    "TimeLimit", "Comment",
)
# Listing all of a user's jobs adds Command (the script a job runs) and STDOUT (its --output pattern): by them
# sync tells a job that a tracked job submitted itself. Comment stays last: it may hold the separator.
SQUEUE_USER_FIELDS = (*SQUEUE_FIELDS[:7], "Command", "STDOUT", *SQUEUE_FIELDS[7:])
# JobName carries the tag's mark: sacct stores every job's name, and a comment only where the cluster is set to.
SACCT_FIELDS = (
    "JobID", "State", "ExitCode", "NodeList", "Start", "End", "Submit", "Reason", "JobName", "Partition", "Timelimit",
    "Comment",
)
# Lines of the earlier, shorter formats (without Partition and TimeLimit, or Reason and Comment) are still read.
_SQUEUE_REQUIRED = 7
_SACCT_REQUIRED = 7
_NO_VALUE = {"", "N/A", "NONE", "None", "Unknown", "(null)", "None assigned"}


class JobObservation(NamedTuple):
    """What Slurm said about one job at one moment. Times are naive UTC.

    `exit_code` and `exit_signal` are the two halves of Slurm's `N:S`: a job
    killed by SIGKILL is FAILED with exit code 0 and signal 9. `reason` is
    why a waiting job waits (`Resources`, `JobHeldUser`, ...), kept only for
    waiting states. `comment` is the job's Slurm comment, where pbt-track's
    tag is; sacct has it only where the cluster stores job comments.

    A named tuple rather than a frozen dataclass: a sync builds one per listed
    job, and every command that reads Slurm pays for defining the class.
    """

    job_id: str
    state: str
    exit_code: int | None = None
    exit_signal: int | None = None
    node: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    submitted_at: datetime | None = None
    source: str = ""
    reason: str | None = None
    comment: str | None = None
    command: str | None = None  # squeue's Command: the path of the batch script
    stdout: str | None = None  # squeue's STDOUT: the job's --output pattern
    name: str | None = None  # sacct's JobName, which ends with the tag's mark where pbt-track named the job
    partition: str | None = None
    time_limit: str | None = None  # as Slurm prints it: 30:00, 1-00:00:00, UNLIMITED


def _observed(
    job_id: str, state: str, exit_code: int | None, exit_signal: int | None, node: str | None,
    start: str, end: str, submit: str, source: str, reason: str = "", comment: str = "",
    command: str | None = None, stdout: str | None = None, partition: str = "", time_limit: str = "",
) -> JobObservation:
    """For a job still waiting, squeue's and scontrol's start and end times are the scheduler's guesses: drop them.

    sacct is left alone: it prints real times, and sometimes PENDING for a job that has started.
    """
    waiting = state in states.WAITING
    return JobObservation(
        job_id, state, exit_code, exit_signal, None if waiting else node,
        None if waiting else parse_slurm_time(start), None if waiting else parse_slurm_time(end),
        parse_slurm_time(submit), source, _optional(reason) if waiting else None, _optional(comment),
        command, stdout, partition=_optional(partition), time_limit=_optional(time_limit),
    )


def normalize_state(text: str) -> str:
    """`CANCELLED by 1234` and sacct's truncation mark `+` both mean the bare state."""
    return text.strip().split(" ", 1)[0].rstrip("+").upper()


def parse_slurm_time(text: str) -> datetime | None:
    """Slurm prints the controller's local time without a zone; the login node is assumed to share it."""
    # Kept per text and zone: a listing of thousands of jobs repeats the same few seconds.
    return _local_to_utc(text, (time.tzname, time.timezone, time.altzone))


@lru_cache(maxsize=4096)
def _local_to_utc(text: str, _zone: object) -> datetime | None:
    text = text.strip()
    if text in _NO_VALUE:
        return None
    if len(text) != 19 or text[10] != "T":  # Slurm's one form: 2026-11-24T17:26:06
        return None
    try:
        local = datetime.fromisoformat(text)  # strptime is ten times slower, felt over thousands of jobs
    except ValueError:
        return None
    return local.astimezone(timezone.utc).replace(tzinfo=None)


def _optional(text: str) -> str | None:
    text = text.strip()
    return None if text in _NO_VALUE else text


def _exit_pair(text: str) -> tuple[int | None, int | None]:
    """sacct and scontrol print `exit:signal`; signal 0 is no signal."""
    code, _, exit_signal = text.strip().partition(":")
    try:
        return int(code), (int(exit_signal) or None) if exit_signal else None
    except ValueError:
        return None, None


def _wait_status(text: str) -> tuple[int | None, int | None]:
    """squeue's exit_code is the raw wait status: 768 is exit 3, 15 is signal 15."""
    try:
        status = int(text.strip())
    except ValueError:
        return None, None
    return (status >> 8) & 0xFF, (status & 0x7F) or None


def squeue_argv(job_ids: Iterable[str], user: str | None = None, scripts: bool = False) -> list[str]:
    """Ask about the given jobs, or (with `user`) list all of that user's jobs.

    With `scripts` each line also holds the job's script and output pattern
    (SQUEUE_USER_FIELDS), by which a full sync finds chained jobs; they are
    the longest fields, and nothing else needs them. A user's listing, and a
    job's own line with its script, are read line by line for given ids, so
    each array task has a line of its own (`--array`). Otherwise, asked by
    id, the tasks of an array that have not
    started come as one record of their ranges (`7_[4-999]`), which
    `job_units.expand_array_records` gives to each: a held array of
    thousands is one line to print and to read.
    """
    fields = ",".join(f"{name}:|" for name in (SQUEUE_USER_FIELDS if scripts else SQUEUE_FIELDS))
    selection = f"--user={user}" if user else "--jobs=" + ",".join(job_ids)
    return ["squeue", "--noheader", *(["--array"] if user or scripts else []), "--states=all", selection,
            "--Format=" + fields]



def parse_squeue(
    text: str, wanted: set[str] | None = None, fields: tuple[str, ...] = SQUEUE_FIELDS, markers: tuple[str, ...] = (),
) -> dict[str, JobObservation]:
    """Observations by job id; with `wanted`, only those jobs and lines holding one of `markers` (the rest is not parsed)."""
    jobs = {}
    count = len(fields)
    with_command = "Command" in fields
    for line in text.splitlines():
        if wanted is not None and line[:line.find("|")].strip() not in wanted and not (
            markers and any(marker in line for marker in markers)
        ):
            continue  # a user's listing may hold thousands of other jobs: skip them before splitting
        if line.endswith("|"):  # --Format's separator follows every field
            line = line[:-1]
        parts = _in_layout(line, count)
        if parts is None:
            continue
        if not with_command:
            parts[7:7] = ("", "")
        (job_id, state, status, node, start, end, submit, command, stdout, reason, partition, time_limit,
         comment) = map(str.strip, parts)
        exit_code, exit_signal = _wait_status(status)
        jobs[job_id] = _observed(job_id, normalize_state(state), exit_code, exit_signal, _optional(node), start, end,
                                 submit, "squeue", reason, comment, _optional(command), _optional(stdout),
                                 partition, time_limit)
    return jobs


def _in_layout(line: str, count: int) -> list[str] | None:
    """A line's `count` fields; one of the earlier format, without Partition and TimeLimit, gets them empty.

    The earlier format is told by having fewer fields than the current one: a line asked for in the current
    format has them all, whatever its comment holds. Lines of an even earlier format stop after SubmitTime.
    """
    if line.count("|") + 1 >= count:
        return line.split("|", count - 1) if line[:line.find("|")].strip() else None
    parts = line.split("|", count - 3)
    if len(parts) < _SQUEUE_REQUIRED or not parts[0].strip():
        return None
    parts += [""] * (count - 2 - len(parts))
    parts[-1:-1] = ("", "")  # Partition and TimeLimit come just before Comment
    return parts


def sacct_argv(job_ids: Iterable[str]) -> list[str]:
    return [
        "sacct", "--parsable2", "--noheader", "--allocations", "--duplicates",
        "--jobs=" + ",".join(job_ids), "--format=" + ",".join(SACCT_FIELDS),
    ]


def sacct_window_argv(user: str, start: datetime, end: datetime) -> list[str]:
    """All of `user`'s jobs that were eligible or running between two UTC times, whatever their ids.

    A job that is held or waits for a dependency has not been eligible yet, so
    sacct does not list it; squeue does.
    """
    return [
        "sacct", "--parsable2", "--noheader", "--allocations", "--duplicates", f"--user={user}",
        f"--starttime={slurm_time(start)}", f"--endtime={slurm_time(end)}", "--format=" + ",".join(SACCT_FIELDS),
    ]


def slurm_time(utc: datetime) -> str:
    """A naive UTC time as Slurm's commands read one: the local time, to the second."""
    return utc.replace(tzinfo=timezone.utc).astimezone().strftime("%Y-%m-%dT%H:%M:%S")


def parse_sacct(text: str) -> dict[str, list[JobObservation]]:
    """Every row per job id: with --duplicates an old job that had the same id is listed too."""
    jobs: dict[str, list[JobObservation]] = {}
    for line in text.splitlines():
        parts = _in_layout(line, len(SACCT_FIELDS))
        if parts is None:
            continue
        (job_id, state, exit_pair, node, start, end, submit, reason, name, partition, time_limit,
         comment) = map(str.strip, parts)
        if not job_id or "." in job_id:  # steps: 123.batch, 123.extern, 123.0
            continue
        exit_code, exit_signal = _exit_pair(exit_pair)
        state = normalize_state(state)
        jobs.setdefault(job_id, []).append(
            JobObservation(
                job_id, state, exit_code, exit_signal, _optional(node),
                parse_slurm_time(start), parse_slurm_time(end), parse_slurm_time(submit), "sacct",
                _optional(reason) if state in states.WAITING else None, _optional(comment), name=_optional(name),
                partition=_optional(partition), time_limit=_optional(time_limit),
            )
        )
    return jobs


def parse_scontrol_jobs(text: str) -> dict[str, JobObservation]:
    """`scontrol show job -o`: one job per line of `Key=Value` pairs."""
    jobs = {}
    for line in text.splitlines():
        fields = dict(item.split("=", 1) for item in line.split() if "=" in item)
        job_id = fields.get("JobId")
        if not job_id:
            continue
        job_ids = [job_id]
        if fields.get("ArrayJobId") and fields.get("ArrayTaskId"):
            job_ids = [f"{fields['ArrayJobId']}_{task}" for task in array_task_ids(fields["ArrayTaskId"])]
        exit_code, exit_signal = _exit_pair(fields.get("ExitCode", ""))
        for job_id in job_ids:
            jobs[job_id] = _observed(
                job_id, normalize_state(fields.get("JobState", "")), exit_code, exit_signal,
                _optional(fields.get("NodeList", "")), fields.get("StartTime", ""), fields.get("EndTime", ""),
                fields.get("SubmitTime", ""), "scontrol", fields.get("Reason", ""), fields.get("Comment", ""),
                partition=fields.get("Partition", ""), time_limit=fields.get("TimeLimit", ""),
            )
    return jobs


def array_task_ids(text: str) -> list[int]:
    """Task ids from Slurm's array notation: `7`, `0-4%2`, `1,3,5-9:2` (the pending tasks of one record)."""
    ids: list[int] = []
    for part in text.split("%", 1)[0].split(","):
        bounds, _, step = part.partition(":")
        first, _, last = bounds.partition("-")
        try:
            ids += range(int(first), int(last or first) + 1, int(step or 1))
        except ValueError:
            continue
    return ids


# Slurm's default: task ids 0..1000.
