"""The keeper's lease: the one row (id 1) that lets one keeper at a time act on a workdir.

Taking it is a read and a write in one `BEGIN IMMEDIATE` transaction (the
caller's), so of two keepers starting at once only one finds it free.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import NamedTuple

from pbt_tracker.store.connection import sql_time

__all__ = ["LeaseHolder", "read_lease", "release_lease", "take_lease"]


class LeaseHolder(NamedTuple):
    holder: str
    host: str
    pid: int
    acquired_at: str
    expires_at: str


def read_lease(connection: sqlite3.Connection) -> LeaseHolder | None:
    row = connection.execute(f"SELECT {', '.join(LeaseHolder._fields)} FROM keeper_lease WHERE id = 1").fetchone()
    return None if row is None else LeaseHolder._make(row)


def take_lease(
    connection: sqlite3.Connection, holder: str, host: str, pid: int, now: datetime, expires_at: datetime,
    abandoned_by: str | None = None,
) -> LeaseHolder | None:
    """Take or renew the lease; None on success, else the keeper that holds it.

    `abandoned_by` names a holder its caller saw dead: its lease is taken before it expires.
    """
    current = read_lease(connection)
    if current is not None and current.holder not in (holder, abandoned_by) and current.expires_at > sql_time(now):
        return current
    acquired = current.acquired_at if current is not None and current.holder == holder else sql_time(now)
    connection.execute(
        "INSERT INTO keeper_lease (id, holder, host, pid, acquired_at, expires_at) VALUES (1, ?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, host = excluded.host, pid = excluded.pid, "
        "acquired_at = excluded.acquired_at, expires_at = excluded.expires_at",
        (holder, host, pid, acquired, sql_time(expires_at)),
    )
    return None


def release_lease(connection: sqlite3.Connection, holder: str) -> None:
    connection.execute("DELETE FROM keeper_lease WHERE id = 1 AND holder = ?", (holder,))
