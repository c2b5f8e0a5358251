"""What a resubmit-failed asks of each backend's resubmitter, and what they answer together."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pbt_tracker import states
from pbt_tracker.errors import OptionError
from pbt_tracker.pbt.resume import ResumeDecision, is_pbt_command, resume_decision
from pbt_tracker.pbt.starts import known_starts
from pbt_tracker.pbt.workspace import policy_index

if TYPE_CHECKING:
    import sqlite3

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
    options: dict[str, Any] = field(default_factory=dict)  # launch options to change (--slurm_partition gpu, ...)


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


def decide(connection: sqlite3.Connection, row: PriorAttempt, request: ResubmitRequest, result: ResubmitResult,
           ) -> ResumeDecision | None:
    """What a PBT policy's next attempt runs (None for any other experiment), kept on the result to be shown."""
    decision = policy_decision(connection, row.experiment_id, row.cmd, row.params, row.train_dir, row.cwd,
                               request.from_scratch)
    if decision is not None:
        result.decisions[row.name] = decision
    return decision


def policy_decision(connection: sqlite3.Connection, experiment_id: int, cmd: str, params: str | None,
                    train_dir: str, cwd: str | None, from_scratch: bool = False) -> ResumeDecision | None:
    """`resume_decision` told the policy's starts, so that a decision it took after its newest save is carried."""
    values = json.loads(params or "{}") or {}
    starts = []
    if not from_scratch and is_pbt_command(cmd):
        policy = policy_index(dict(values), cmd)
        if policy is not None:
            starts = known_starts(connection, experiment_id, policy)
    return resume_decision(cmd, values, train_dir, cwd, from_scratch, starts)


def check_launch_directory(name: str, cwd: str | None) -> None:
    """Refuse, before anything is recorded, an attempt whose launch directory is gone: its command would fail."""
    if cwd and not os.path.isdir(cwd):
        raise OptionError(
            f"{name} was launched from {cwd}, which no longer exists, and its command runs there; restore or "
            "recreate that directory, then send it again"
        )
