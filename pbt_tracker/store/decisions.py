"""The statements of PBT starts: the command lines policies re-executed themselves with (pbt_starts).

A row is named by where its log printed it, so reading the same start twice
(a sync, then a continuation that read the log before the next sync) inserts
it once. What a continuation did about it is written on it in the
continuation's own transaction, before sbatch sees the continuation; an
undone decision stays undone, whatever a later continuation finds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import NamedTuple

from pbt_tracker.store.connection import sql_time
from pbt_tracker.store.new_rows import insert_unread
from pbt_tracker.store.selections import column_list, marks, named_rows

__all__ = [
    "CopyRow", "NewStart", "StartRow", "count_undone", "insert_starts", "set_cleaned", "uncleaned_copies",
    "set_outcome", "starts_of_experiment", "undone_starts",
]

UNDONE = "undone"


class NewStart(NamedTuple):
    """A start as a policy's log printed it, under the attempt whose log that is."""

    submission_id: int
    policy: int
    iteration: int | None
    donor: int | None
    checkpoint: str | None
    experiment_name: str | None
    args: list[str]
    log_offset: int
    observed_at: datetime


def insert_starts(connection: sqlite3.Connection, rows: Iterable[NewStart]) -> int:
    """The starts not read before; the number inserted."""
    return insert_unread(connection, "pbt_starts", rows)


class StartRow(NamedTuple):
    id: int
    submission_id: int
    experiment_id: int
    experiment: str
    attempt: int
    policy: int
    iteration: int | None
    donor: int | None
    checkpoint: str | None
    experiment_name: str | None
    args: str  # JSON
    log_offset: int
    outcome: str | None  # carried, undone, or None while no continuation needed it
    outcome_submission_id: int | None
    outcome_detail: str | None
    outcome_at: str | None
    cleaned_at: str | None


_START = column_list(
    StartRow._fields, id="st.id", submission_id="st.submission_id", experiment_id="s.experiment_id",
    experiment="e.name", attempt="s.attempt", policy="st.policy", iteration="st.iteration", donor="st.donor",
    checkpoint="st.checkpoint", experiment_name="st.experiment_name", args="st.args", log_offset="st.log_offset",
    outcome="st.outcome", outcome_submission_id="st.outcome_submission_id", outcome_detail="st.outcome_detail",
    outcome_at="st.outcome_at", cleaned_at="st.cleaned_at",
)
_FROM = ("FROM pbt_starts AS st JOIN submissions AS s ON s.id = st.submission_id "
         "JOIN experiments AS e ON e.id = s.experiment_id")
_ORDER = "ORDER BY s.experiment_id, s.attempt, st.log_offset"


def starts_of_experiment(connection: sqlite3.Connection, experiment_id: int) -> list[StartRow]:
    """Its starts in the order they happened: attempt by attempt, in log order."""
    return named_rows(connection.execute(f"SELECT {_START} {_FROM} WHERE s.experiment_id = ? {_ORDER}",
                                         (experiment_id,)), StartRow)


def set_outcome(connection: sqlite3.Connection, submission_id: int, log_offset: int, outcome: str,
                continuation_id: int, detail: str, at: datetime) -> None:
    """What continuation `continuation_id` did about the start; an undone start is left undone."""
    connection.execute(
        "UPDATE pbt_starts SET outcome = ?, outcome_submission_id = ?, outcome_detail = ?, outcome_at = ? "
        "WHERE submission_id = ? AND log_offset = ? AND (outcome IS NULL OR outcome != ?)",
        (outcome, continuation_id, detail, sql_time(at), submission_id, log_offset, UNDONE),
    )


def undone_starts(connection: sqlite3.Connection, experiment_ids: Sequence[int] | None = None) -> list[StartRow]:
    """The decisions a continuation did not carry, of these experiments (of every one when None)."""
    if experiment_ids is None:
        return named_rows(connection.execute(f"SELECT {_START} {_FROM} WHERE st.outcome = ? {_ORDER}", (UNDONE,)),
                          StartRow)
    rows: list[StartRow] = []
    ids = list(experiment_ids)
    for begin in range(0, len(ids), 500):
        chunk = ids[begin:begin + 500]
        rows += named_rows(connection.execute(
            f"SELECT {_START} {_FROM} WHERE st.outcome = ? AND s.experiment_id IN ({marks(chunk)}) {_ORDER}",
            (UNDONE, *chunk)), StartRow)
    return rows


def count_undone(connection: sqlite3.Connection) -> int:
    return int(connection.execute("SELECT count(*) FROM pbt_starts WHERE outcome = ?", (UNDONE,)).fetchone()[0])


class CopyRow(NamedTuple):
    """A start's checkpoint copy not removed yet, and whether its policy has saved a later iteration of its life
    since (copied into pbt_iterations from its own directory): then no continuation can need it any more."""

    id: int
    policy: int
    checkpoint: str
    experiment_name: str | None
    superseded: int


def uncleaned_copies(connection: sqlite3.Connection, launch_id: int | None = None) -> list[CopyRow]:
    """Every start's copy not removed yet (of one launch's experiments, when given)."""
    where = "" if launch_id is None else "AND e.launch_id = ? "
    return named_rows(connection.execute(
        "SELECT st.id, st.policy, st.checkpoint, st.experiment_name, st.iteration IS NOT NULL AND EXISTS ("
        "SELECT 1 FROM pbt_iterations AS i WHERE i.experiment_id = s.experiment_id AND i.policy = st.policy "
        "AND i.iteration > st.iteration AND i.file_key NOT LIKE 'best%' "
        "AND (st.experiment_name IS NULL OR i.experiment_name = st.experiment_name)) "
        f"{_FROM} WHERE st.cleaned_at IS NULL AND st.checkpoint IS NOT NULL {where}{_ORDER}",
        () if launch_id is None else (launch_id,)), CopyRow)


def set_cleaned(connection: sqlite3.Connection, start_ids: Sequence[int], at: datetime) -> None:
    connection.executemany("UPDATE pbt_starts SET cleaned_at = ? WHERE id = ?",
                           [(sql_time(at), start_id) for start_id in start_ids])
