"""What one scancel call's answer proves about each job it was given.

scancel reports a job it could not signal on stderr, one line per job
(`scancel: error: Kill job error on job id 7765: Invalid job id specified`),
and its exit code covers the whole call. The record marks a job as
"cancel requested" only when scancel accepted it. Even then the job's state
is left to Slurm's answers (squeue or sacct showing it CANCELLED): scancel
may accept a job and not end it. Only an array task cancelled while it
waited, of which Slurm keeps no record, is read as CANCELLED from the mark
and its absence, so a mark after a refused scancel would record it ended.
An answer that was lost (scancel timed out, was killed, or failed without a
word) is neither: the job may have been cancelled, so it is not marked, and
the next sync records what Slurm says of it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

from pbt_tracker.backends.slurm.sbatch_answer import one_line

_JOB_ERROR_RE = re.compile(r"error:.*?\bjob id (\S+?):\s*(.*)$", re.IGNORECASE)


class ScancelAnswer(NamedTuple):
    accepted: list[str]
    refused: dict[str, str]  # job id -> why scancel did not signal it
    lost: Mapping[str, str] = MappingProxyType({})  # job id -> how scancel's answer was lost: it may have signalled the job, or not


def read_scancel_answer(job_ids: list[str], returncode: int, stderr: str) -> ScancelAnswer:
    """Split the jobs given to scancel into those it accepted, those it refused (with its reason), and those
    whose answer was lost.

    A failure that names no job proves nothing about any of them, so none
    counts as accepted. Where scancel said why (the controller cannot be
    reached, say), each is refused with that reason; where it was killed,
    printed nothing, or its request timed out, the controller may have
    carried the cancel out, so each is lost, with how.
    """
    refused: dict[str, str] = {}
    for line in stderr.splitlines():
        match = _JOB_ERROR_RE.search(line)
        if match and match.group(1) in job_ids:
            refused[match.group(1)] = match.group(2).strip() or "refused"
    if returncode != 0 and not refused:
        lost = lost_answer(returncode, stderr)
        if lost is not None:
            return ScancelAnswer([], {}, {job_id: lost for job_id in job_ids})
        reason = one_line(stderr)
        refused = {job_id: reason for job_id in job_ids}
    return ScancelAnswer([job_id for job_id in job_ids if job_id not in refused], refused)


def lost_answer(returncode: int, stderr: str) -> str | None:
    """How a failed scancel's answer was lost, in a few words; None when it answered a refusal."""
    if returncode < 0:
        return f"killed by signal {-returncode}"
    if not stderr.strip():
        return f"exit {returncode}, nothing printed"
    if _TIMED_OUT_RE.search(stderr):
        return f"timed out: {one_line(stderr)}"
    return None


_TIMED_OUT_RE = re.compile(r"\btimed out\b", re.IGNORECASE)
