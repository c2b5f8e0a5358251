"""What one scancel call's answer proves about each job it was given.

scancel reports a job it could not signal on stderr, one line per job
(`scancel: error: Kill job error on job id 7765: Invalid job id specified`),
and its exit code covers the whole call. The record marks a job as
"cancel requested" only when scancel accepted it. Even then the job's state
is left to Slurm's answers (squeue or sacct showing it CANCELLED): scancel
may accept a job and not end it. Only an array task cancelled while it
waited, of which Slurm keeps no record, is read as CANCELLED from the mark
and its absence, so a mark after a refused scancel would record it ended.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from pbt_tracker.backends.slurm.sbatch_answer import one_line

_JOB_ERROR_RE = re.compile(r"error:.*?\bjob id (\S+?):\s*(.*)$", re.IGNORECASE)


class ScancelAnswer(NamedTuple):
    accepted: list[str]
    refused: dict[str, str]  # job id -> why scancel did not signal it


def read_scancel_answer(job_ids: list[str], returncode: int, stderr: str) -> ScancelAnswer:
    """Split the jobs given to scancel into those it accepted and those it refused, with scancel's reason.

    A failure that names no job (the controller cannot be reached, say) proves
    nothing about any of them, so every job counts as refused.
    """
    refused: dict[str, str] = {}
    for line in stderr.splitlines():
        match = _JOB_ERROR_RE.search(line)
        if match and match.group(1) in job_ids:
            refused[match.group(1)] = match.group(2).strip() or "refused"
    if returncode != 0 and not refused:
        reason = one_line(stderr) or f"scancel exited with {returncode}"
        refused = {job_id: reason for job_id in job_ids}
    return ScancelAnswer([job_id for job_id in job_ids if job_id not in refused], refused)
