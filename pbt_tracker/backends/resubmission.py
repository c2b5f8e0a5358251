"""What a resubmit-failed asks of each backend's resubmitter, and what they answer together."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pbt_tracker import states
from pbt_tracker.errors import OptionError
from pbt_tracker.pbt.resume import ResumeDecision, resume_decision

if TYPE_CHECKING:
    from pbt_tracker.backends.processes.launch import ProcessesOutcome
    from pbt_tracker.launch.record import Echo, SubmittedJob
    from pbt_tracker.processes import ProcessId
    from pbt_tracker.store.next_attempts import PriorAttempt


@dataclass(frozen=True)
class ResubmitRequest:
    dry_run: bool  # count the attempts that would go; record and send nothing
    accept_changed: bool  # a script changed on disk since it was recorded goes as it is now
    from_scratch: bool  # PBT policies run their original command, not a continuation from a checkpoint
    me: ProcessId  # the process that records the attempts, their owner until they are sent
    echo: Echo
    origin: str = "resubmit"  # what sends them, as the record's `origin` says: resubmit, or keeper


@dataclass
class ResubmitResult:
    dry_run: bool
    planned: list[tuple[str, int]] = field(default_factory=list)  # (experiment, attempt)
    decisions: dict[str, ResumeDecision] = field(default_factory=dict)  # PBT policies: what their attempt runs
    jobs: list[SubmittedJob] = field(default_factory=list)
    rewritten: list[str] = field(default_factory=list)
    skipped_max_attempts: list[str] = field(default_factory=list)
    skipped_live: list[tuple[str, str | None, int]] = field(default_factory=list)  # (experiment, job id, launch)
    skipped_older: list[tuple[str, int]] = field(default_factory=list)  # (experiment, launch) another launch resubmits
    skipped_uncertain: list[str] = field(default_factory=list)  # sbatch's answer lost: they may be running
    processes_outcomes: list[ProcessesOutcome] = field(default_factory=list)
    interrupted: bool = False

    @property
    def failed(self) -> list[str]:
        """Experiments whose new attempt did not go out, or (local ones) did not complete."""
        return [job.experiment for job in self.jobs if job.error] + [
            outcome.experiment for outcome in self.processes_outcomes if outcome.state != states.COMPLETED
        ]

    @property
    def attempted(self) -> int:
        return len(self.jobs) + len(self.processes_outcomes)


def decide(row: PriorAttempt, request: ResubmitRequest, result: ResubmitResult) -> ResumeDecision | None:
    """What a PBT policy's next attempt runs (None for any other experiment), kept on the result to be shown."""
    decision = resume_decision(row.cmd, json.loads(row.params or "{}") or {}, row.train_dir, row.cwd,
                               request.from_scratch)
    if decision is not None:
        result.decisions[row.name] = decision
    return decision


def check_launch_directory(name: str, cwd: str | None) -> None:
    """Refuse, before anything is recorded, an attempt whose launch directory is gone: its command would fail."""
    if cwd and not os.path.isdir(cwd):
        raise OptionError(
            f"{name} was launched from {cwd}, which no longer exists, and its command runs there; restore or "
            "recreate that directory, then send it again"
        )
