"""The one place that runs Slurm's commands and reads what they print.

`run_command` is the only function here that starts a process: argv lists,
never a shell, and always a timeout, because a hung controller must not hang
the launcher. The parsers are pure functions, tested on literal output.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime, timezone
from pathlib import Path

from pbt_tracker import settings, states
from pbt_tracker.errors import AccountingUnavailable, SchedulerError, SchedulerTimeout
from pbt_tracker.sbatch_answer import UNCERTAIN, classify_sbatch_failure, one_line, parse_sbatch_output

# JobArrayID prints array tasks as 428_2, as sacct and scontrol name them (JobID would print 430).
# Comment comes last in both, so that a comment holding the separator cannot shift the other fields.
SQUEUE_FIELDS = (
    "JobArrayID", "State", "exit_code", "NodeList", "StartTime", "EndTime", "SubmitTime", "Reason", "Comment",
)
# Listing all of a user's jobs adds Command (the script a job runs) and STDOUT (its --output pattern): by them
# sync tells a job that a tracked job submitted itself. Comment stays last: it may hold the separator.
SQUEUE_USER_FIELDS = (*SQUEUE_FIELDS[:7], "Command", "STDOUT", *SQUEUE_FIELDS[7:])
SACCT_FIELDS = ("JobID", "State", "ExitCode", "NodeList", "Start", "End", "Submit", "Reason", "Comment")
# Lines of the earlier, shorter formats (without Reason and Comment) are still read.
_SQUEUE_REQUIRED = 7
_SACCT_REQUIRED = 7
_NO_VALUE = {"", "N/A", "NONE", "None", "Unknown", "(null)", "None assigned"}


@dataclass(frozen=True)
class CommandResult:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class SubmitOutcome:
    """What one sbatch call gave: a job id, or the reason there is none."""

    result: CommandResult | None
    job_id: str | None = None
    cluster: str | None = None
    error: str | None = None
    uncertain: bool = False  # the job may exist although no id came back: see classify_sbatch_failure


def require_command(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SchedulerError(
            f"{name} was not found on PATH; run this on a Slurm login node, "
            "or use --slurm_print_only true to only write the scripts"
        )
    return path


def run_command(argv: list[str], timeout: float | None = None) -> CommandResult:
    """Run `argv` (no shell) to its end or its timeout."""
    timeout = settings.scheduler_timeout() if timeout is None else timeout
    try:
        process = subprocess.Popen(argv, stdin=_devnull(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError:
        raise SchedulerError(f"{argv[0]} was not found on PATH; run this on a Slurm login node") from None
    except PermissionError:
        raise SchedulerError(f"{argv[0]} is not executable; check the Slurm installation on PATH") from None
    except OSError as error:
        raise SchedulerError(
            f"{argv[0]} could not be started ({error.strerror}); check the Slurm installation on PATH"
        ) from None
    with process:
        try:
            stdout, stderr = _output_and_exit(process, time.monotonic() + timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise SchedulerTimeout(
                f"{argv[0]} did not answer within {timeout:g} s; the controller may be busy "
                "(raise PBT_TRACK_SCHEDULER_TIMEOUT to wait longer)"
            ) from None
        except BaseException:
            process.kill()
            process.wait()
            raise
    return CommandResult(argv, process.returncode, _text(stdout), _text(stderr))


@lru_cache(maxsize=1)
def _devnull() -> int:
    """One /dev/null, opened once, for every command's stdin: a launch starts a thousand sbatch calls."""
    return os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)


def _output_and_exit(process: subprocess.Popen[bytes], deadline: float) -> tuple[bytes, bytes]:
    """Both pipes read to their end, then the exit reaped, all before `deadline`.

    Popen.communicate(timeout=...) waits for the exit by polling with sleeps,
    a millisecond lost per sbatch over a launch of thousands; a pidfd (Linux
    5.3) says at once when the program has ended.
    """
    output: dict[int, list[bytes]] = {process.stdout.fileno(): [], process.stderr.fileno(): []}  # type: ignore[union-attr]
    poller = select.poll()
    for fd in output:
        poller.register(fd, select.POLLIN)
    open_fds = set(output)
    while open_fds:
        for fd, _event in poller.poll(_remaining_ms(process, deadline)):
            data = os.read(fd, 65536)
            if data:
                output[fd].append(data)
            else:
                poller.unregister(fd)
                open_fds.discard(fd)
    try:
        exited = os.pidfd_open(process.pid)
    except (AttributeError, OSError):  # not Linux, an old kernel, or already reaped
        process.wait(max(deadline - time.monotonic(), 0))
    else:
        try:
            waiter = select.poll()
            waiter.register(exited, select.POLLIN)
            if not waiter.poll(_remaining_ms(process, deadline)):
                raise subprocess.TimeoutExpired(process.args, 0)
            process.wait()  # the pidfd is readable: the exit is there to reap
        finally:
            os.close(exited)
    stdout, stderr = (b"".join(chunks) for chunks in output.values())
    return stdout, stderr


def _remaining_ms(process: subprocess.Popen[bytes], deadline: float) -> int:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise subprocess.TimeoutExpired(process.args, 0)
    return max(1, int(remaining * 1000))


def _text(data: bytes) -> str:
    return data.decode(errors="replace")


def submit(argv: list[str], timeout: float | None = None) -> SubmitOutcome:
    """Run one sbatch; report failure in the outcome instead of raising, so a launch goes on.

    sbatch that could not be started sent nothing: a definite failure. sbatch
    that exited 0 was answered by the controller, so a job id it printed in a
    form we cannot read leaves the job's existence uncertain, not refused.
    """
    try:
        result = run_command(argv, timeout)
    except SchedulerTimeout as error:
        return SubmitOutcome(None, error=str(error), uncertain=True)
    except SchedulerError as error:
        return SubmitOutcome(None, error=str(error))
    if result.returncode != 0:
        reason = one_line(result.stderr) or one_line(result.stdout) or "no message"
        how = (
            f"was killed by signal {-result.returncode}" if result.returncode < 0
            else f"exited with {result.returncode}"
        )
        uncertain = classify_sbatch_failure(result.returncode, f"{result.stderr}\n{result.stdout}") == UNCERTAIN
        return SubmitOutcome(result, error=f"sbatch {how}: {reason}", uncertain=uncertain)
    try:
        job_id, cluster = parse_sbatch_output(result.stdout)
    except SchedulerError as error:
        return SubmitOutcome(result, error=str(error), uncertain=True)
    return SubmitOutcome(result, job_id=job_id, cluster=cluster)


@dataclass(frozen=True)
class JobObservation:
    """What Slurm said about one job at one moment. Times are naive UTC.

    `exit_code` and `exit_signal` are the two halves of Slurm's `N:S`: a job
    killed by SIGKILL is FAILED with exit code 0 and signal 9. `reason` is
    why a waiting job waits (`Resources`, `JobHeldUser`, ...), kept only for
    waiting states. `comment` is the job's Slurm comment, where pbt-track's
    tag is; sacct has it only where the cluster stores job comments.
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


def _observed(
    job_id: str, state: str, exit_code: int | None, exit_signal: int | None, node: str | None,
    start: str, end: str, submit: str, source: str, reason: str = "", comment: str = "",
    command: str | None = None, stdout: str | None = None,
) -> JobObservation:
    """For a job still waiting, squeue's and scontrol's start and end times are the scheduler's guesses: drop them.

    sacct is left alone: it prints real times, and sometimes PENDING for a job that has started.
    """
    waiting = state in states.WAITING
    return JobObservation(
        job_id, state, exit_code, exit_signal, None if waiting else node,
        None if waiting else parse_slurm_time(start), None if waiting else parse_slurm_time(end),
        parse_slurm_time(submit), source, _optional(reason) if waiting else None, _optional(comment),
        command, stdout,
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


def squeue_argv(job_ids: Iterable[str], user: str | None = None) -> list[str]:
    """Ask about the given jobs, or (with `user`) list all of that user's jobs."""
    fields = ",".join(f"{name}:|" for name in (SQUEUE_USER_FIELDS if user else SQUEUE_FIELDS))
    selection = f"--user={user}" if user else "--jobs=" + ",".join(job_ids)
    return ["squeue", "--noheader", "--array", "--states=all", selection, "--Format=" + fields]


# squeue filters a --jobs list slowly (0.7 s for 1,000 ids here); listing a user's jobs is cheaper past this.
SQUEUE_JOBS_LIMIT = 100


def parse_squeue(
    text: str, wanted: set[str] | None = None, fields: tuple[str, ...] = SQUEUE_FIELDS
) -> dict[str, JobObservation]:
    """Observations by job id; with `wanted`, only those jobs (the rest is not even parsed)."""
    jobs = {}
    with_command = "Command" in fields
    for line in text.splitlines():
        line = line[:-1] if line.endswith("|") else line  # --Format's separator follows every field
        parts = line.split("|", len(fields) - 1)
        if len(parts) < _SQUEUE_REQUIRED or not parts[0].strip():
            continue
        if wanted is not None and parts[0].strip() not in wanted:
            continue
        values = [part.strip() for part in [*parts, *([""] * len(fields))][: len(fields)]]
        if not with_command:
            values[7:7] = ["", ""]
        job_id, state, status, node, start, end, submit, command, stdout, reason, comment = values
        exit_code, exit_signal = _wait_status(status)
        jobs[job_id] = _observed(job_id, normalize_state(state), exit_code, exit_signal, _optional(node), start, end,
                                 submit, "squeue", reason, comment, _optional(command), _optional(stdout))
    return jobs


def sacct_argv(job_ids: Iterable[str]) -> list[str]:
    return [
        "sacct", "--parsable2", "--noheader", "--allocations", "--duplicates",
        "--jobs=" + ",".join(job_ids), "--format=" + ",".join(SACCT_FIELDS),
    ]


def parse_sacct(text: str) -> dict[str, list[JobObservation]]:
    """Every row per job id: with --duplicates an old job that had the same id is listed too."""
    jobs: dict[str, list[JobObservation]] = {}
    for line in text.splitlines():
        parts = line.split("|", len(SACCT_FIELDS) - 1)
        if len(parts) < _SACCT_REQUIRED:
            continue
        job_id, state, exit_pair, node, start, end, submit, reason, comment = (
            part.strip() for part in [*parts, "", ""][: len(SACCT_FIELDS)]
        )
        if not job_id or "." in job_id:  # steps: 123.batch, 123.extern, 123.0
            continue
        exit_code, exit_signal = _exit_pair(exit_pair)
        state = normalize_state(state)
        jobs.setdefault(job_id, []).append(
            JobObservation(
                job_id, state, exit_code, exit_signal, _optional(node),
                parse_slurm_time(start), parse_slurm_time(end), parse_slurm_time(submit), "sacct",
                _optional(reason) if state in states.WAITING else None, _optional(comment),
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
DEFAULT_MIN_JOB_AGE = 300  # seconds, Slurm's default
DEFAULT_MAX_ARRAY_SIZE = 1001


def parse_config_number(text: str, key: str) -> int | None:
    """A numeric setting from slurm.conf text or `scontrol show config` output (keys are case-insensitive)."""
    for line in text.splitlines():
        match = re.match(rf"\s*{key}\s*=\s*(\d+)", line.split("#", 1)[0], re.IGNORECASE)
        if match:
            return int(match.group(1))
    return None


def parse_max_array_size(text: str) -> int | None:
    return parse_config_number(text, "MaxArraySize")


def _cluster_setting(key: str, default: int, conf_path: str | None = None) -> int:
    """A setting of the cluster, read from slurm.conf where the login node has it.

    Reading the file costs the controller nothing; only a configless login
    node (no slurm.conf) makes this one scontrol call. Where neither answers,
    Slurm's default holds.
    """
    path = conf_path or os.environ.get("SLURM_CONF") or "/etc/slurm/slurm.conf"
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        try:
            result = run_command(["scontrol", "show", "config"])
        except SchedulerError:
            return default  # no Slurm here: scripts are only being written (print-only)
        text = result.stdout if result.returncode == 0 else ""
    value = parse_config_number(text, key)
    return default if value is None else value


def max_array_size(conf_path: str | None = None) -> int:
    return _cluster_setting("MaxArraySize", DEFAULT_MAX_ARRAY_SIZE, conf_path)


def min_job_age(conf_path: str | None = None) -> int:
    """Seconds Slurm keeps a finished job in squeue (MinJobAge); past it, only sacct remembers the job."""
    return _cluster_setting("MinJobAge", DEFAULT_MIN_JOB_AGE, conf_path)


def query_squeue(job_ids: list[str], user: str | None = None, all_of_user: bool = False) -> dict[str, JobObservation]:
    """States of the given jobs that Slurm still knows, in one squeue call.

    With `all_of_user`, every job of `user` is returned, the given ones among
    them: the jobs a tracked job submitted itself are found in that one call.
    """
    by_user = user is not None and (all_of_user or len(job_ids) > SQUEUE_JOBS_LIMIT)
    result = run_command(squeue_argv(job_ids, user if by_user else None))
    if result.returncode != 0:
        if "Invalid job id" in result.stderr:
            return {}  # squeue says this when it knows none of them
        raise SchedulerError(f"squeue failed ({result.returncode}): {one_line(result.stderr) or 'no message'}")
    return parse_squeue(result.stdout, set(job_ids) if by_user and not all_of_user else None,
                        SQUEUE_USER_FIELDS if by_user else SQUEUE_FIELDS)


def parse_tagged_jobs(text: str, prefix: str) -> dict[str, list[str]]:
    """`squeue -O JobArrayID,Comment` lines: job ids by the tag (the word starting with `prefix`) in their comment.

    The tag may share the comment with the user's own words from the template.
    """
    tagged: dict[str, list[str]] = {}
    for line in text.splitlines():
        job_id, _, rest = line.partition("|")
        comment = rest.rsplit("|", 1)[0].strip() if rest.endswith("|") else rest.strip()
        tag = next((word for word in comment.split() if word.startswith(prefix)), None)
        if job_id.strip() and tag:
            tagged.setdefault(tag, []).append(job_id.strip())
    return tagged


def query_tagged_jobs(user: str, prefix: str) -> dict[str, list[str]]:
    """One squeue call over the user's jobs that Slurm still knows, keyed by their pbt-track tag."""
    result = run_command(
        ["squeue", "--noheader", "--array", "--states=all", f"--user={user}", "--Format=JobArrayID:|,Comment:|"]
    )
    if result.returncode != 0:
        raise SchedulerError(f"squeue failed ({result.returncode}): {one_line(result.stderr) or 'no message'}")
    return parse_tagged_jobs(result.stdout, prefix)


def query_sacct(job_ids: list[str]) -> dict[str, list[JobObservation]]:
    timeout = settings.sacct_timeout()
    try:
        result = run_command(sacct_argv(job_ids), timeout=timeout)
    except SchedulerTimeout:
        raise AccountingUnavailable(f"sacct did not answer within {timeout:g} s") from None
    except SchedulerError as error:
        raise AccountingUnavailable(str(error)) from None
    if result.returncode != 0:
        raise AccountingUnavailable(one_line(result.stderr) or f"sacct exited with {result.returncode}")
    return parse_sacct(result.stdout)


def query_scontrol() -> dict[str, JobObservation]:
    result = run_command(["scontrol", "--oneliner", "show", "job"])
    if result.returncode != 0:
        raise SchedulerError(f"scontrol failed ({result.returncode}): {one_line(result.stderr) or 'no message'}")
    return parse_scontrol_jobs(result.stdout)


def scancel(job_ids: list[str]) -> CommandResult:
    return run_command(["scancel", *job_ids])
