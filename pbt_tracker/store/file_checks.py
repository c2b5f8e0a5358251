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
