"""Which of Slurm's answers about a job id describe our job, and which run of it is current.

A job id is not a name: Slurm reuses ids after a restart or a wrap-around, so
an answer about id 70 may be about someone else's old job 70. And one job may
run several times (requeue, preemption, a node failure), each run a row of
its own in sacct. These pure functions pick the answer that describes our
job's present; the sync applies it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pbt_tracker.backends.slurm.output import JobObservation
from pbt_tracker.backends.slurm.tags import carries


def is_same_job(observation: JobObservation, expected_tag: str | None) -> bool:
    """Whether `observation` is about the job we submitted, not an older one that had its id.

    The tag decides wherever Slurm shows it: in the job's comment (squeue and
    scontrol always; sacct only where the cluster stores comments) or as the
    mark at the end of its name (sacct always). A job carrying only other tags
    of pbt-track's is another job. Without a tag the id alone decides. Times
    never do: they come from the controller's clock, which may be minutes off
    this host's, and a job judged by them was once taken for a stranger and
    recorded LOST.
    """
    if expected_tag is not None:
        ours = carries(expected_tag, observation.comment, observation.name)
        if ours is not None:
            return ours
    return True


def newest_run(rows: Sequence[JobObservation]) -> JobObservation | None:
    """The latest of several sacct rows for one job id: the run that says what the job is doing now.

    With --duplicates, sacct gives a row per run of a requeued job (the older
    ones REQUEUED, PREEMPTED or NODE_FAIL) and rows of older jobs that had the
    same id. Slurm resets the submit time at a requeue, so the latest submit
    time is the latest run; among rows submitted at the same time, one that
    has not started yet is later than one that has, then the later start,
    then the later row.
    """
    if not rows:
        return None
    latest = max(
        enumerate(rows),
        key=lambda item: (
            item[1].submitted_at or datetime.min,
            item[1].started_at is None,
            item[1].started_at or datetime.min,
            item[0],
        ),
    )
    return latest[1]
