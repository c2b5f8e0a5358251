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
from typing import Any

import click


class PathText(click.ParamType):
    """A path option's value, kept as the text given: only the shell's completion and a project file treat it as a path.

    The completion item's type hands the word to the shell's own completion
    of files (or of folders), so `~`, quoting and symlinks are the shell's.
    """

    name = "path"

    def __init__(self, folder: bool = False) -> None:
        self.folder = folder

    def shell_complete(self, ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem

        return [CompletionItem(incomplete, type="dir" if self.folder else "file")]


def _workdir(ctx: click.Context) -> Path:
    root = ctx.find_root()
    for context in (ctx, root):
        value = context.params.get("workdir")
        if value:
            return Path(value)
    return Path(os.environ.get("PBT_TRACK_WORKDIR") or ".")


def _record_values(ctx: click.Context, what: str, prefix: str) -> list[str]:
    from pbt_tracker.store import db_path
    from pbt_tracker.store.names import distinct_values
    from pbt_tracker.store.readonly import read_only_connection

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
