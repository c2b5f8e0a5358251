"""Whether a database file is a sound pbt-track record: every page readable, every table there.

`connection` decides when each check runs; they live here so that what a
sound record is stays in one place.
"""

from __future__ import annotations

import re
import sqlite3
from functools import cache
from pathlib import Path

from pbt_tracker import settings
from pbt_tracker.errors import StoreError
from pbt_tracker.in_background import InBackground
from pbt_tracker.store import schema, schema_head
from pbt_tracker.store.journal import read_only_connection


def unsound(path: Path, what: str) -> StoreError:
    return StoreError(
        f"{path} is damaged ({what}); pbt-track will not write to it: move it aside and restore it "
        "from a backup (`sqlite3 pbt_tracker.db .recover` may save what is left)"
    )


def check_quickly(connection: sqlite3.Connection, path: Path) -> None:
    """What every open checks: every table of the schema there, and the pages of `launches`,
    from which every other row hangs."""
    _check_tables(connection, path)
    _check_pages(connection, path, "PRAGMA quick_check(launches)")


def check_fully(connection: sqlite3.Connection, path: Path) -> None:
    """What the first write checks: every page, and every table of the schema."""
    _check_pages(connection, path, "PRAGMA quick_check")
    _check_tables(connection, path)


def check_aside(path: Path) -> InBackground[None]:
    """`check_fully` in a thread, on a read-only connection of its own: SQLite checks while Python goes on."""

    def check() -> None:
        connection = read_only_connection(path, settings.busy_timeout())
        try:
            connection.execute("BEGIN")  # one snapshot for every page
            check_fully(connection, path)
        finally:
            connection.close()

    return InBackground(check)


def _check_tables(connection: sqlite3.Connection, path: Path) -> None:
    revision = schema.current_revision(connection)
    if revision != schema_head.HEAD:  # an older schema lacks the newer tables until it is upgraded
        return
    present = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
    missing = sorted(schema_head.TABLES - present)
    if missing:
        raise unsound(path, f"tables {', '.join(missing)} are missing although its schema says {revision}")


def _check_pages(connection: sqlite3.Connection, path: Path, pragma: str) -> None:
    try:
        rows = connection.execute(pragma).fetchall()
    except sqlite3.DatabaseError as error:
        if isinstance(error, sqlite3.OperationalError) and "locked" in str(error):
            raise
        raise unsound(path, f"quick_check: {error}") from None
    if rows != [("ok",)]:
        raise unsound(path, "quick_check: " + " ".join(str(rows[0][0]).split()))


_NAMING = re.compile(r"\s*(CREATE|DROP)\s+(?:TABLE|VIEW)\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?(\w+)", re.IGNORECASE)


@cache
def schema_tables() -> frozenset[str]:
    """The tables and views the migration chain builds, named by its CREATE and DROP statements in order.

    What `schema_head.TABLES` must say (a test holds them to it). Read from
    the statements rather than from a database built in memory; a statement
    that could rename a table falls back to that build.
    """
    names = {"alembic_version"}
    for revision in schema.revisions():
        for statement in schema.migration(revision).UPGRADE:
            if re.search(r"\bRENAME\b", statement, re.IGNORECASE):
                return built_schema_tables()
            named = _NAMING.match(statement)
            if named and named.group(1).upper() == "CREATE":
                names.add(named.group(2))
            elif named:
                names.discard(named.group(2))
    return frozenset(names)


def built_schema_tables() -> frozenset[str]:
    """The tables and views of a database the migration chain builds in memory."""
    connection = sqlite3.connect(":memory:")
    try:
        schema.create(connection)
        return frozenset(
            row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
        )
    finally:
        connection.close()
