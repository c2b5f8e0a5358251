"""Opening a workdir's database for reading only, so that a look at the record never changes it.

`report`, `show`, `logs` and shell completion run often and by hand, often on
a workdir another process is writing. Their connection refuses writes: no
schema is created in an empty file, nothing is upgraded, no journal mode is
set. A database at an older schema is left to `open_store`,
which upgrades it, as every other command would.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from pbt_tracker import settings
from pbt_tracker.errors import StoreError
from pbt_tracker.files import check_path_inert
from pbt_tracker.store import schema, schema_head
from pbt_tracker.store.connection import (
    Store,
    db_path,
    require_database,
    store_error,
)
from pbt_tracker.store.file_checks import check_file, warn_if_world_readable
from pbt_tracker.store.journal import read_only_connection
from pbt_tracker.store.soundness import check_quickly


def open_store_read_only(workdir: str | os.PathLike[str]) -> Store | None:
    """The workdir's database opened read-only; None when its schema is older and must be upgraded first."""
    check_path_inert(workdir, "workdir")
    workdir = Path(os.path.abspath(workdir))
    require_database(workdir)
    path = db_path(workdir)
    check_file(path)
    try:
        connection = read_only_connection(path, settings.busy_timeout())
    except sqlite3.Error as error:
        raise store_error(path, error) from None
    try:
        revision = schema.current_revision(connection)
        if revision == schema_head.HEAD:
            check_quickly(connection, path)
    except sqlite3.Error as error:
        connection.close()  # a damaged file is refused with its connection closed, leaving nothing behind
        raise store_error(path, error) from None
    except BaseException:
        connection.close()
        raise
    if revision is None:
        connection.close()
        raise StoreError(
            f"{path} holds no pbt-track record; pass the --workdir of a launch, or move the file aside"
        )
    if revision != schema_head.HEAD:
        connection.close()
        return None
    warn_if_world_readable(path)
    return Store(workdir, connection)
