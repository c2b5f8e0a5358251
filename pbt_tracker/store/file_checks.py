"""What the database's file tells before SQLite opens it: whether SQLite can, and who else can read it."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from pbt_tracker.errors import StoreError

SQLITE_WORKDIR_MAX = 512 - len("/.pbt_tracker.db.4194304.0123abcd.new-journal") - 1
"""SQLite's unix files take paths of at most 512 bytes: the database's, while it is made, is the workdir's and 46."""


def check_workdir_length(workdir: str | os.PathLike[str]) -> None:
    size = len(os.fsencode(Path(workdir).absolute()))
    if size > SQLITE_WORKDIR_MAX:
        raise StoreError(f"workdir {str(workdir)[:80]}... is {size} bytes long, more than SQLite opens a database "
                         f"under ({SQLITE_WORKDIR_MAX}); choose a shorter --workdir")


_WARNED: set[Path] = set()


def warn_if_world_readable(path: Path) -> None:
    """One line on stderr, once per database and process: the record holds commands and environment values."""
    try:
        readable = path.stat().st_mode & 0o004
    except OSError:
        return
    if readable and path not in _WARNED:
        _WARNED.add(path)
        print(f"Warning: {path} is readable by every user of this machine, and it holds the experiments' commands "
              f"and environment values; run `chmod 600 {shlex.quote(str(path))}` to keep it yours", file=sys.stderr)


def check_file(path: Path) -> None:
    """Refuse an empty or unreadable file before SQLite opens it.

    The file is never opened here: closing any descriptor of the database
    drops every POSIX lock this process holds on it, so a process with a
    connection open (the keeper, whose lease thread opens the store again)
    would look gone to the others, and the last of them to close would
    checkpoint and delete the WAL under it (sqlite.org/howtocorrupt.html,
    2.2). SQLite itself refuses a file that is not a database (`store_error`).
    """
    try:
        size = path.stat().st_size
    except OSError as error:
        raise StoreError(f"cannot read {path}: {error.strerror}; check its permissions") from None
    if not os.access(path, os.R_OK):
        raise StoreError(f"cannot read {path}: Permission denied; check its permissions")
    if size == 0:
        raise StoreError(
            f"{path} is empty (0 bytes), and pbt-track never leaves an empty database: it was cut short or "
            "replaced; restore it from a backup, or remove it to start a new record"
        )
