"""The one place that runs Slurm's commands and reads what they print.

`run_command` is the only function here that starts a process: argv lists,
never a shell, and always a timeout, because a hung controller must not hang
the launcher. The parsers are pure functions, tested on literal output.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from pbt_tracker.errors import SchedulerError, SchedulerTimeout

COMMAND_TIMEOUT_S = float(os.environ.get("PBT_TRACK_SCHEDULER_TIMEOUT", "60"))

_PARSABLE_RE = re.compile(r"^(\d+(?:_\d+)?)(?:;(\S+))?$")
_HUMAN_RE = re.compile(r"^Submitted batch job (\d+)(?: on cluster (\S+))?$")


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
    uncertain: bool = False  # the job may exist although no id came back (a timeout)


def require_command(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SchedulerError(
            f"{name} was not found on PATH; run this on a Slurm login node, "
            "or use --slurm_print_only true to only write the scripts"
        )
    return path


def run_command(argv: list[str], timeout: float = COMMAND_TIMEOUT_S) -> CommandResult:
    try:
        completed = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise SchedulerError(f"{argv[0]} was not found on PATH; run this on a Slurm login node") from None
    except PermissionError:
        raise SchedulerError(f"{argv[0]} is not executable; check the Slurm installation on PATH") from None
    except OSError as error:
        raise SchedulerError(f"{argv[0]} could not be started ({error.strerror}); check the Slurm installation on PATH") from None
    except subprocess.TimeoutExpired:
        raise SchedulerTimeout(
            f"{argv[0]} did not answer within {timeout:g} s; the controller may be busy "
            "(raise PBT_TRACK_SCHEDULER_TIMEOUT to wait longer)"
        ) from None
    return CommandResult(argv, completed.returncode, completed.stdout, completed.stderr)


def parse_sbatch_output(stdout: str) -> tuple[str, str | None]:
    """Job id and cluster from `sbatch --parsable` (`N`, `N;cluster`) or plain sbatch.

    Site wrappers around sbatch sometimes print banners or warnings first, so
    the last line that looks like a job id wins.
    """
    for line in reversed(stdout.strip().splitlines()):
        line = line.strip()
        match = _PARSABLE_RE.match(line) or _HUMAN_RE.match(line)
        if match:
            return match.group(1), match.group(2)
    raise SchedulerError(f"sbatch printed no job id: {_one_line(stdout) or '(nothing)'}")


def submit(argv: list[str], timeout: float = COMMAND_TIMEOUT_S) -> SubmitOutcome:
    """Run one sbatch; report failure in the outcome instead of raising, so a launch goes on."""
    try:
        result = run_command(argv, timeout)
    except SchedulerTimeout as error:
        return SubmitOutcome(None, error=str(error), uncertain=True)
    except SchedulerError as error:
        return SubmitOutcome(None, error=str(error))
    if result.returncode != 0:
        reason = _one_line(result.stderr) or _one_line(result.stdout) or "no message"
        return SubmitOutcome(result, error=f"sbatch exited with {result.returncode}: {reason}")
    try:
        job_id, cluster = parse_sbatch_output(result.stdout)
    except SchedulerError as error:
        return SubmitOutcome(result, error=str(error))
    return SubmitOutcome(result, job_id=job_id, cluster=cluster)


def _one_line(text: str, limit: int = 300) -> str:
    joined = " ".join(line.strip() for line in text.strip().splitlines() if line.strip())
    return joined if len(joined) <= limit else joined[: limit - 3] + "..."
