"""Shell completion of states and of the names a workdir's record holds.

The callbacks return plain strings, which click turns into its completion
items itself: every command imports this module, and click's completion
module is then only imported for a Tab.

A completion runs at every Tab, so it reads the database read-only with the
standard library alone, and offers nothing rather than failing (or creating
a database) when there is none.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import click


def _workdir(ctx: click.Context) -> Path:
    """The workdir the command would use: its flag, else PBT_TRACK_WORKDIR, else the project file's, else here."""
    from click.core import ParameterSource

    for context in (ctx, ctx.find_root()):
        value = context.params.get("workdir")
        if value and context.get_parameter_source("workdir") is not ParameterSource.DEFAULT:
            return Path(value)
    if os.environ.get("PBT_TRACK_WORKDIR"):
        return Path(os.environ["PBT_TRACK_WORKDIR"])
    return _project_workdir() or Path(".")


def _project_workdir() -> Path | None:
    """The project file's workdir; a file that cannot be read offers nothing here (the command will say why)."""
    from pbt_tracker.cli.paths import find_project_file

    path = find_project_file()
    if path is None:
        return None
    import tomllib

    try:
        with path.open("rb") as stream:
            value = tomllib.load(stream).get("workdir")
    except (OSError, tomllib.TOMLDecodeError):
        return None
    return path.parent / os.path.expanduser(value) if isinstance(value, str) else None


def _record_values(ctx: click.Context, what: str, prefix: str) -> list[str]:
    from pbt_tracker.store import db_path
    from pbt_tracker.store.names import distinct_values
    from pbt_tracker.store.journal import read_only_connection

    path = db_path(_workdir(ctx))
    try:
        if not path.is_file() or path.stat().st_size == 0:
            return []
        connection = read_only_connection(path, timeout=1.0)
        try:
            return distinct_values(connection, what, prefix)
        finally:
            connection.close()
    except (OSError, sqlite3.Error):
        return []


def _last_of_list(incomplete: str) -> tuple[str, str]:
    """`a,b,c`: what stays before the last comma, and the part being typed."""
    head, comma, last = incomplete.rpartition(",")
    return head + comma, last


def states(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    from pbt_tracker.states import KNOWN, SHORT

    head, last = _last_of_list(incomplete)
    names = sorted(KNOWN) + sorted(SHORT)
    return [head + name for name in names if name.startswith(last.upper())]


def experiments(ctx: click.Context, param: click.Parameter | None, incomplete: str) -> list[str]:
    return _record_values(ctx, "experiments", incomplete)


def runs(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    return _record_values(ctx, "runs", incomplete)


def job_ids(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    head, last = _last_of_list(incomplete)
    return [head + job for job in _record_values(ctx, "job_ids", last)]


def launches(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    return _record_values(ctx, "launches", incomplete)


def experiments_or_jobs(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    return job_ids(ctx, param, incomplete) + experiments(ctx, param, incomplete)
