"""What the keeper reads each pass: the attempts of the experiments it looks after, the decisions it took on
them, and the iterations sync saw each policy write."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, NamedTuple

from pbt_tracker.store.selections import column_list, marks, named_rows, selected_as

if TYPE_CHECKING:
    from pbt_tracker.store.selection import Selection

__all__ = ["EarlierDecision", "IterationSeen", "KeptAttempt", "decisions_on", "iteration_history", "kept_attempts"]


class KeptAttempt(NamedTuple):
    """One attempt of an experiment the keeper looks after, with its experiment and launch."""

    experiment_id: int
    name: str
    params: str  # JSON
    cmd: str
    train_dir: str
    cwd: str | None
    backend: str
    run_name: str
    submission_id: int
    attempt: int
    state: str
    submitted_at: str | None
    started_at: str | None
    ended_at: str | None
    job_id: str | None
    exit_code: int | None
    log_path: str | None  # `%j` and friends not filled in
    template_text: str | None  # the launch's sbatch template, which says whether `timeout` ends its jobs


_KEPT_ATTEMPT = column_list(
    KeptAttempt._fields, experiment_id="e.id", name="e.name", params="e.params", cmd="e.cmd",
    train_dir="e.train_dir", cwd="l.cwd", backend="l.backend", run_name="l.run_name", submission_id="s.id",
    attempt="s.attempt", state="s.state", submitted_at="s.submitted_at", started_at="s.started_at",
    ended_at="s.ended_at", job_id="s.job_id", exit_code="s.exit_code", log_path="s.log_path",
    template_text="l.template_text",
)


def kept_attempts(connection: sqlite3.Connection, selection: Selection) -> list[KeptAttempt]:
    return selected_as(connection, selection, _KEPT_ATTEMPT, KeptAttempt)


class EarlierDecision(NamedTuple):
    id: int
    submission_id: int
    action: str
    reason: str
    detail: str | None  # JSON


def decisions_on(connection: sqlite3.Connection, submission_ids: list[int]) -> list[EarlierDecision]:
    """Every decision taken about these attempts, oldest first."""
    if not submission_ids:
        return []
    return named_rows(connection.execute(
        f"SELECT {', '.join(EarlierDecision._fields)} FROM keeper_decisions "
        f"WHERE submission_id IN ({marks(submission_ids)}) ORDER BY id",
        tuple(submission_ids),
    ), EarlierDecision)


class IterationSeen(NamedTuple):
    iteration: int
    observed_at: str  # when sync first copied its file, UTC text


def iteration_history(connection: sqlite3.Connection, experiment_id: int) -> list[IterationSeen]:
    """Every iteration file sync copied for the experiment, in the order it saw them."""
    return named_rows(connection.execute(
        "SELECT iteration, observed_at FROM pbt_iterations WHERE experiment_id = ? ORDER BY observed_at, iteration",
        (experiment_id,),
    ), IterationSeen)
