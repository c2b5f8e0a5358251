"""What one sbatch call's answer proves: a job id, a refusal, or nothing either way.

A failure recorded as a refusal is resubmitted by `resubmit-failed`; if the
controller had in fact created the job, the experiment then runs twice. So a
failure counts as definite only when its message proves that Slurm refused
the job; every other failure is uncertain, and the job's tag settles it later.
"""

from __future__ import annotations

import re

from pbt_tracker.errors import SchedulerError

DEFINITE = "definite"
UNCERTAIN = "uncertain"

# sbatch --parsable prints `N` or `N;cluster`; without it, the sentence below.
_PARSABLE_RE = re.compile(r"^(\d+(?:_\d+)?)(?:;(\S+))?$")
_HUMAN_RE = re.compile(r"^Submitted batch job (\d+)(?: on cluster (\S+))?$")

# Said while the answer was lost between sbatch and the controller: the job may exist.
LOST_ANSWER = (
    "socket timed out",
    "timed out",
    "unable to contact slurm controller",
    "connection refused",
    "connection reset",
    "zero bytes were transmitted or received",
    "communication connection failure",
    "broken pipe",
    "resource temporarily unavailable",
    "slurmctld is not responding",
)

# Said by sbatch or the controller when it refused the job: nothing was queued.
REFUSAL = (
    "invalid partition name specified",
    "invalid partition specified",
    "invalid qos specification",
    "job violates accounting/qos policy",
    "more processors requested than permitted",
    "requested node configuration is not available",
    "invalid account",
    "invalid generic resource (gres) specification",
    "invalid trackable resource (tres) specification",
    "requested time limit is invalid",
    "requested partition configuration not available now",
    "node count specification invalid",
    "memory required by task is not available",
    "invalid feature specification",
    "invalid job array specification",
    "requested reservation is invalid",
    "invalid wckey specification",
    "access/permission denied",
    "user's group not permitted to use this partition",
    "cpu count per node can not be satisfied",
    "memory specification can not be satisfied",
    "unable to open file",
    "this does not look like a batch script",
    "batch script is empty",
    "batch script contains dos line breaks",
    "unrecognized option",
    "invalid option",
    "requires an argument",
    "for more information",  # sbatch's usage hint after a bad option
    "invalid --",  # `Invalid --time specification`, `invalid --distribution ...`
    "invalid numeric value",
)


def classify_sbatch_failure(returncode: int | None, stderr: str) -> str:
    """DEFINITE when the message proves Slurm refused the job, else UNCERTAIN.

    `returncode` is None when sbatch did not answer in time. A negative one
    (killed by a signal) is uncertain whatever was printed before: the job may
    have been created after the message. A message that mentions a lost
    answer is uncertain even next to a refusal, since sbatch retries and the
    last attempt may not be the one that was refused.
    """
    if returncode is None or returncode < 0:
        return UNCERTAIN
    text = stderr.lower()
    if any(marker in text for marker in LOST_ANSWER):
        return UNCERTAIN
    if any(marker in text for marker in REFUSAL):
        return DEFINITE
    return UNCERTAIN


def one_line(text: str, limit: int = 300) -> str:
    joined = " ".join(line.strip() for line in text.strip().splitlines() if line.strip())
    return joined if len(joined) <= limit else joined[: limit - 3] + "..."


def parse_sbatch_output(stdout: str) -> tuple[str, str | None]:
    """Job id and cluster from `sbatch --parsable` (`N`, `N;cluster`) or plain sbatch.

    Site wrappers print banners and notices around sbatch's answer, some with
    numbers in them, so no line is taken on position alone: sbatch's own
    sentence `Submitted batch job N` wins when it is there; otherwise exactly
    one line may look like a job id. Two different candidates are refused
    rather than guessed between.
    """
    lines = [line.strip() for line in stdout.strip().splitlines()]
    sentences = {(match[1], match[2]) for line in lines if (match := _HUMAN_RE.match(line))}
    numbers = {(match[1], match[2]) for line in lines if (match := _PARSABLE_RE.match(line))}
    for candidates in (sentences, numbers):
        if len(candidates) == 1:
            return next(iter(candidates))
        if len(candidates) > 1:
            ids = ", ".join(sorted(job_id for job_id, _ in candidates))
            raise SchedulerError(f"sbatch printed more than one job id ({ids}): {one_line(stdout)}")
    raise SchedulerError(f"sbatch printed no job id: {one_line(stdout) or '(nothing)'}")
