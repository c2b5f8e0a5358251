"""The launch that records the keeper's own Slurm jobs, and which of them may still run."""

from __future__ import annotations

import sqlite3
from typing import NamedTuple

from pbt_tracker import states
from pbt_tracker.store.keeper import KEEPER_RUN
from pbt_tracker.store.selections import column_list, marks

__all__ = ["KeeperLaunch", "active_keeper_jobs", "keeper_launch"]


class KeeperLaunch(NamedTuple):
    launch_id: int
    uuid: str
    experiment_id: int
    attempt: int | None  # its latest; None before the first


_KEEPER_LAUNCH = column_list(KeeperLaunch._fields, launch_id="l.id", uuid="l.uuid", experiment_id="e.id",
                             attempt="(SELECT max(attempt) FROM submissions WHERE experiment_id = e.id)")


def keeper_launch(connection: sqlite3.Connection) -> KeeperLaunch | None:
    """The launch that records the keeper's own jobs, with its one experiment and latest attempt."""
    row = connection.execute(
        f"SELECT {_KEEPER_LAUNCH} FROM launches AS l JOIN experiments AS e ON e.launch_id = l.id "
        "WHERE l.run_name = ? ORDER BY l.id LIMIT 1",
        (KEEPER_RUN,),
    ).fetchone()
    return None if row is None else KeeperLaunch._make(row)


def active_keeper_jobs(connection: sqlite3.Connection) -> list[str]:
    """Job ids of keeper jobs that may still run or wait in the queue."""
    active = sorted(states.MAY_BE_ACTIVE)
    return [job_id for (job_id,) in connection.execute(
        "SELECT s.job_id FROM submissions AS s JOIN experiments AS e ON e.id = s.experiment_id "
        f"JOIN launches AS l ON l.id = e.launch_id WHERE l.run_name = ? AND s.state IN ({marks(active)}) ORDER BY s.id",
        (KEEPER_RUN, *active),
    )]
