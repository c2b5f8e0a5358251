"""What squeue (or scontrol) listed in one sync, and what can be read from it without asking again."""

from __future__ import annotations

from datetime import timedelta

from pbt_tracker.backends.slurm import commands as slurm
from pbt_tracker.backends.slurm.output import JobObservation
from pbt_tracker.backends.slurm.tags import tags_in
from pbt_tracker.commands import Deadline


# A plain class rather than a dataclass: a cancel's start-up is timed, and defining a dataclass is not free.
class Listing:
    """What squeue (or scontrol) said about every job of the workdir's users, read once per sync."""

    __slots__ = ("jobs", "complete", "min_job_age", "listed_any", "deadline", "asked")

    def __init__(self, jobs: dict[str, JobObservation], complete: bool, listed_any: bool | None = None,
                 deadline: Deadline | None = None, asked: set[str] | None = None) -> None:
        self.jobs = jobs
        self.complete = complete  # squeue answered with everything it knows (scontrol's fallback has no scripts)
        # Where `jobs` holds only the lines that concern the record: whether squeue listed others.
        self.listed_any = listed_any
        # The job ids squeue was asked about, or None where it listed every job it has (scontrol's fallback).
        self.asked = asked
        self.min_job_age: timedelta | None = None  # Slurm's MinJobAge, read the first time a rule needs it
        self.deadline = deadline  # the sync's, which reading MinJobAge from the controller shares

    @property
    def empty(self) -> bool:
        return not self.listed_any if self.listed_any is not None else not self.jobs

    def lacks(self, job_id: str) -> bool:
        """Whether the controller answered for this job without listing it: it neither waits nor runs there."""
        return (job_id not in self.jobs and not self.empty
                and (self.asked is None or job_id in self.asked))

    def tagged(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for job_id, observation in self.jobs.items():
            for tag in tags_in(observation.comment):
                found.setdefault(tag, []).append(job_id)
        return found

    def job_age_limit(self) -> timedelta:
        if self.min_job_age is None:
            self.min_job_age = timedelta(seconds=slurm.min_job_age(deadline=self.deadline))
        return self.min_job_age
