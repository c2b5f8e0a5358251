"""Slurm's commands: sbatch, squeue, sacct, scontrol and scancel, each run through `commands.run_command`.

A hung controller must not hang the launcher, so every call has a timeout;
what the commands print is read by the pure parsers of `output`.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from pbt_tracker import commands, settings
from pbt_tracker.backends.slurm.output import (
    SQUEUE_USER_FIELDS,
    JobObservation,
    parse_sacct,
    parse_scontrol_jobs,
    parse_squeue,
    sacct_argv,
    sacct_window_argv,
    squeue_argv,
)
from pbt_tracker.backends.slurm.sbatch_answer import UNCERTAIN, classify_sbatch_failure, one_line, parse_sbatch_output
from pbt_tracker.commands import CommandNotStarted, CommandResult, Deadline
from pbt_tracker.errors import AccountingUnavailable, SchedulerError, SchedulerTimeout


# A named tuple rather than a dataclass: a cancel's start-up is timed, and a tuple class is cheaper to define.
class SubmitOutcome(NamedTuple):
    """What one sbatch call gave: a job id, or the reason there is none."""

    result: CommandResult | None
    job_id: str | None = None
    cluster: str | None = None
    error: str | None = None
    uncertain: bool = False  # the job may exist although no id came back: see classify_sbatch_failure


def require_command(name: str) -> str:
    import shutil  # here, not at the top: its imports (bz2, lzma, ...) would slow every read command

    path = shutil.which(name)
    if path is None:
        raise SchedulerError(
            f"{name} was not found on PATH; run this on a Slurm login node, "
            "or use --slurm_print_only true to only write the scripts"
        )
    return path


def run_command(argv: list[str], timeout: float | None = None, deadline: Deadline | None = None,
                env: dict[str, str] | None = None) -> CommandResult:
    """`commands.run_command`, with what a Slurm user should do when the program cannot answer.

    With a `deadline`, the call has what is left of it (at most `timeout`).
    """
    if deadline is not None:
        timeout = round(deadline.timeout(argv[0], timeout), 1) or 0.1  # "within 3 s", not "within 2.98934 s"
    try:
        return commands.run_command(argv, timeout, env)
    except SchedulerTimeout as error:
        raise SchedulerTimeout(
            f"{error}; the controller may be busy (raise PBT_TRACK_SCHEDULER_TIMEOUT to wait longer)"
        ) from None
    except CommandNotStarted as error:
        advice = "run this on a Slurm login node" if error.missing else "check the Slurm installation on PATH"
        raise SchedulerError(f"{error}; {advice}") from None


def submit(argv: list[str], timeout: float | None = None, env: dict[str, str] | None = None) -> SubmitOutcome:
    """Run one sbatch; report failure in the outcome instead of raising, so a launch goes on.

    sbatch that could not be started sent nothing: a definite failure. sbatch
    that exited 0 was answered by the controller, so a job id it printed in a
    form we cannot read leaves the job's existence uncertain, not refused.
    `env` is the environment the job is to start with (its launch's).
    """
    try:
        result = run_command(argv, timeout, env=env)
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
    from pbt_tracker.backends.slurm.job_logs import make_logs_private

    make_logs_private(argv, job_id)
    return SubmitOutcome(result, job_id=job_id, cluster=cluster)


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


def _cluster_setting(key: str, default: int, conf_path: str | None = None, deadline: Deadline | None = None) -> int:
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
            result = run_command(["scontrol", "show", "config"], deadline=deadline)
        except SchedulerError:
            return default  # no Slurm here: scripts are only being written (print-only)
        text = result.stdout if result.returncode == 0 else ""
    value = parse_config_number(text, key)
    return default if value is None else value


def max_array_size(conf_path: str | None = None) -> int:
    return _cluster_setting("MaxArraySize", DEFAULT_MAX_ARRAY_SIZE, conf_path)


def min_job_age(conf_path: str | None = None, deadline: Deadline | None = None) -> int:
    """Seconds Slurm keeps a finished job in squeue (MinJobAge); past it, only sacct remembers the job."""
    return _cluster_setting("MinJobAge", DEFAULT_MIN_JOB_AGE, conf_path, deadline)


def _failure(result: CommandResult) -> SchedulerError:
    """A scheduler command that answered with an error: its name, exit code and first line of stderr."""
    return SchedulerError(f"{result.argv[0]} failed ({result.returncode}): {one_line(result.stderr) or 'no message'}")


def query_squeue(job_ids: list[str], deadline: Deadline | None = None) -> tuple[dict[str, JobObservation], bool]:
    """States of the given jobs that Slurm still knows, and whether squeue listed any job at all.

    squeue is asked `--jobs` (an array's tasks by the array's id), in as few
    calls as the length of one argument allows, never for a user's whole
    listing: the cost follows the jobs asked about, not the user's others.
    """
    from pbt_tracker.backends.slurm.job_units import expand_array_records, observation_of, query_ids

    wanted = set(job_ids)
    jobs: dict[str, JobObservation] = {}
    for chunk in _chunks(query_ids(job_ids)):
        result = run_command(squeue_argv(chunk), deadline=deadline, env=whole_ranges())
        if result.returncode != 0:
            if "Invalid job id" in result.stderr:
                continue  # squeue says this when it knows none of them
            raise _failure(result)
        jobs.update(parse_squeue(result.stdout))
    return {job_id: job for job_id, job in expand_array_records(jobs, wanted, observation_of).items() if job_id in wanted}, bool(jobs)


# One argument may be at most 128 KiB long (Linux's MAX_ARG_STRLEN); the rest of a chunk's is spare.
_JOBS_ARGUMENT = 100_000


def _chunks(job_ids: list[str]) -> list[list[str]]:
    chunks: list[list[str]] = []
    length = _JOBS_ARGUMENT
    for job_id in job_ids:
        if length + len(job_id) + 1 > _JOBS_ARGUMENT:
            chunks.append([])
            length = 0
        chunks[-1].append(job_id)
        length += len(job_id) + 1
    return chunks


def list_user_jobs(user: str, job_ids: set[str], markers: tuple[str, ...],
                   deadline: Deadline | None = None) -> tuple[dict[str, JobObservation], bool]:
    """One squeue listing of all of `user`'s jobs, read for the ones that concern a record; and whether it listed any.

    Those are the `job_ids`, and the lines holding a marker (the tag of a
    submission whose id never came back, the folder of a recorded script): a
    job found only by its tag or by the script it runs. A user's other jobs,
    often thousands, are skipped unparsed. Only a sync that has such jobs to
    find lists them all (see `sync_slurm`).
    """
    result = run_command(squeue_argv([], user, scripts=True), deadline=deadline, env=whole_ranges())
    if result.returncode != 0:
        raise _failure(result)
    return parse_squeue(result.stdout, job_ids, SQUEUE_USER_FIELDS, markers), bool(result.stdout.strip())


def lists_any_job(user: str) -> bool:
    """Whether squeue lists any job of `user`: asked only by job id, the shortest line it prints."""
    result = run_command(["squeue", "--noheader", "--states=all", f"--user={user}", "--Format=JobID:|"])
    if result.returncode != 0:
        raise _failure(result)
    return bool(result.stdout.strip())


def query_job(job_id: str) -> JobObservation | None:
    """One job as squeue lists it with its comment, script and log: what a starting job's guard asks of itself."""
    result = run_command(squeue_argv([job_id], scripts=True), env=whole_ranges())
    if result.returncode != 0:
        raise _failure(result)
    return parse_squeue(result.stdout, None, SQUEUE_USER_FIELDS).get(job_id)


def query_sacct(job_ids: list[str], deadline: Deadline | None = None) -> dict[str, list[JobObservation]]:
    """Every run sacct has of these jobs; an array's tasks are asked by the array's id, whose records cover them."""
    from pbt_tracker.backends.slurm.job_units import expand_array_records, observations_of, query_ids

    return expand_array_records(_accounting(sacct_argv(query_ids(job_ids)), deadline), job_ids, observations_of)


def query_sacct_window(user: str, start: datetime, end: datetime,
                       deadline: Deadline | None = None) -> dict[str, list[JobObservation]]:
    """Every job of `user` that sacct holds between two UTC times, by job id: what finds a job by its name."""
    return _accounting(sacct_window_argv(user, start, end), deadline)


def whole_ranges() -> dict[str, str]:
    """The environment squeue and sacct read in: the task ranges of an array's record in full.

    Both cut a record's ranges (`7_[1,3,5,...]`) at 64 characters unless
    SLURM_BITSTR_LEN says otherwise, and a cut range names tasks it does not
    hold: `17,1` for `17,19`. 0 prints them whole, however long.
    """
    return {**os.environ, "SLURM_BITSTR_LEN": "0"}


def _accounting(argv: list[str], deadline: Deadline | None) -> dict[str, list[JobObservation]]:
    timeout = settings.sacct_timeout()
    try:
        if deadline is not None:
            timeout = deadline.timeout("sacct", timeout)
    except SchedulerTimeout as error:
        raise AccountingUnavailable(str(error)) from None
    try:
        result = run_command(argv, timeout=timeout, env=whole_ranges())
    except SchedulerTimeout:
        raise AccountingUnavailable(f"sacct did not answer within {timeout:g} s") from None
    except SchedulerError as error:
        raise AccountingUnavailable(str(error)) from None
    if result.returncode != 0:
        raise AccountingUnavailable(one_line(result.stderr) or f"sacct exited with {result.returncode}")
    return parse_sacct(result.stdout)


def query_scontrol(deadline: Deadline | None = None) -> dict[str, JobObservation]:
    result = run_command(["scontrol", "--oneliner", "show", "job"], deadline=deadline)
    if result.returncode != 0:
        raise _failure(result)
    return parse_scontrol_jobs(result.stdout)


def scancel(job_ids: list[str]) -> CommandResult:
    return run_command(["scancel", *job_ids])
