"""What tells whether a PBT policy started over: the ends of each of its lives, and when its attempts ran.

A life (the iteration files that carry one experiment name) is told apart
from the one before it by where it begins and how far it got, so each life
is read as two rows, its first written and its highest, however long it
ran: the keeper asks this of every policy at each pass.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import NamedTuple

from pbt_tracker.store.selections import marks, named_rows

__all__ = ["AttemptTime", "LifeRow", "attempt_times", "experiment_ids", "life_ends", "lives_told"]

_CHUNK = 500  # ids per statement, well under SQLite's limit on parameters


class LifeRow(NamedTuple):
    """One of a policy's own iteration files."""

    experiment_id: int
    iteration: int
    life: str | None  # the experiment name the file carries
    written_at: str  # the file's modification time, as the record writes times


class AttemptTime(NamedTuple):
    experiment_id: int
    submission_id: int
    attempt: int
    started_at: str | None  # its submission's time when no start is on record
    ended_at: str | None


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start:start + _CHUNK]


def life_ends(connection: sqlite3.Connection, experiment_ids: Iterable[int]) -> list[LifeRow]:
    """Of each life of these experiments' policies, its first-written and its highest file; best copies left out.

    SQLite gives a bare column the values of the row that holds the one
    min() or max() of its statement, which is how each half picks its row.
    """
    rows: list[LifeRow] = []
    own = "file_key NOT LIKE 'best%'"
    for ids in _chunks(experiment_ids):
        rows += named_rows(connection.execute(
            f"SELECT experiment_id, iteration, experiment_name, min(file_mtime) FROM pbt_iterations "
            f"WHERE experiment_id IN ({marks(ids)}) AND {own} GROUP BY experiment_id, experiment_name "
            "UNION ALL "
            f"SELECT experiment_id, max(iteration), experiment_name, file_mtime FROM pbt_iterations "
            f"WHERE experiment_id IN ({marks(ids)}) AND {own} GROUP BY experiment_id, experiment_name",
            [*ids, *ids],
        ), LifeRow)
    return rows


def attempt_times(connection: sqlite3.Connection, experiment_ids: Iterable[int]) -> list[AttemptTime]:
    rows: list[AttemptTime] = []
    for ids in _chunks(experiment_ids):
        rows += named_rows(connection.execute(
            "SELECT experiment_id, id, attempt, coalesce(started_at, submitted_at), ended_at FROM submissions "
            f"WHERE experiment_id IN ({marks(ids)}) ORDER BY experiment_id, attempt",
            ids,
        ), AttemptTime)
    return rows


def experiment_ids(connection: sqlite3.Connection, launch_ids: Iterable[int]) -> dict[tuple[int, str], int]:
    """Each experiment of these launches by (launch id, name), as reports name experiments."""
    found: dict[tuple[int, str], int] = {}
    for ids in _chunks(launch_ids):
        for experiment_id, launch_id, name in connection.execute(
                f"SELECT id, launch_id, name FROM experiments WHERE launch_id IN ({marks(ids)})", ids):
            found[(launch_id, name)] = experiment_id
    return found


def lives_told(connection: sqlite3.Connection, experiment_ids: Iterable[int], action: str) -> set[tuple[int, str | None]]:
    """The (experiment, life) pairs the keeper's decisions of `action` named in their detail."""
    told: set[tuple[int, str | None]] = set()
    for ids in _chunks(experiment_ids):
        told |= set(connection.execute(
            "SELECT experiment_id, json_extract(detail, '$.life') FROM keeper_decisions "
            f"WHERE action = ? AND experiment_id IN ({marks(ids)})",
            [action, *ids],
        ))
    return told
