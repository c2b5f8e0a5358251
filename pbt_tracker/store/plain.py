"""The workdir's database on the standard library's sqlite3 alone: the road a launch takes.

Importing SQLAlchemy costs a launch about 0.15 s, as much as forty sbatch
calls on a quiet controller, and a launch only inserts rows and updates
them. A new database gets schema.sql, which tests keep equal to what the
tables and the migrations build; one that needs an upgrade is handed to
`engine.open_store`, which runs the migrations.

Everything else that names the database file (its path, its journal mode,
the checks on the workdir) lives here too, so that both roads share it.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pbt_tracker import settings
from pbt_tracker.errors import NoDatabaseError, SchemaTooNewError, StoreError

DB_FILENAME = "pbt_tracker.db"

# The newest migration this code knows; tests check it against alembic's head.
SCHEMA_HEAD = "0004"
KNOWN_REVISIONS = ("0001", "0002", "0003", "0004")

_SQLITE_MAGIC = b"SQLite format 3\x00"

# WAL keeps its index in shared memory, which hosts sharing these filesystems cannot share.
NETWORK_FILESYSTEMS = frozenset(
    {"nfs", "nfs4", "lustre", "gpfs", "beegfs", "cifs", "smb3", "smbfs", "ceph", "glusterfs",
     "fuse.glusterfs", "fuse.sshfs", "fuse.beegfs", "panfs", "afs", "9p"}
)

# Columns SQLAlchemy's JSON type stores as JSON text; a test keeps this equal to the tables.
JSON_COLUMNS = {
    "launches": frozenset({"options"}),
    "experiments": frozenset({"params", "env_vars"}),
    "submissions": frozenset({"argv"}),
    "slurm_arrays": frozenset({"argv"}),
    "cancellations": frozenset({"selection", "job_ids", "argv"}),
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def sql_time(moment: datetime) -> str:
    """A time as SQLAlchemy stores it in SQLite, for statements written by hand."""
    return moment.isoformat(sep=" ", timespec="microseconds")


def db_path(workdir: str | os.PathLike[str]) -> Path:
    return Path(workdir) / DB_FILENAME


def filesystem_type(path: Path, mounts: str) -> str | None:
    """The type of the filesystem holding `path`, from /proc/mounts-style text (longest mount point wins)."""
    target = str(path)
    best, best_type = "", None
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        mount_point = fields[1].replace("\\040", " ")
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= len(best):
            best, best_type = mount_point, fields[2]
    return best_type


def journal_mode(directory: Path) -> str:
    """WAL on local disks; the rollback journal where the workdir is on a network filesystem."""
    forced = os.environ.get("PBT_TRACK_JOURNAL_MODE", "").upper()
    if forced in {"WAL", "DELETE"}:
        return forced
    try:
        mounts = Path("/proc/self/mounts").read_text()
    except OSError:
        return "WAL"
    fstype = filesystem_type(directory.resolve(), mounts)
    return "DELETE" if fstype in NETWORK_FILESYSTEMS else "WAL"


def configure(connection: sqlite3.Connection, mode: str) -> None:
    """What every connection of pbt-track sets, whichever road opened it."""
    connection.isolation_level = None  # transactions are begun by hand, as BEGIN IMMEDIATE
    connection.execute(f"PRAGMA journal_mode={mode}")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=ON")


def store_error(path: Path, error: sqlite3.Error) -> StoreError:
    """SQLite's failure as one line that names the file and the remedy."""
    text = str(error)
    if isinstance(error, sqlite3.OperationalError):
        if "locked" in text or "busy" in text:
            return StoreError(
                f"{path} stayed locked by another pbt-track process for more than "
                f"{settings.busy_timeout():g} s; try again when it has finished "
                "(or raise PBT_TRACK_BUSY_TIMEOUT)"
            )
        if "disk" in text and "full" in text:
            return StoreError(f"cannot write {path}: the disk is full; free some space and try again")
        return StoreError(f"cannot use {path}: {text}")
    return StoreError(
        f"{path} is not a readable pbt-track database ({text}); "
        "move it aside and start again, or restore it from a backup"
    )


def check_file(path: Path) -> None:
    try:
        with path.open("rb") as handle:
            header = handle.read(len(_SQLITE_MAGIC))
    except OSError as error:
        raise StoreError(f"cannot read {path}: {error.strerror}; check its permissions") from None
    if header and header != _SQLITE_MAGIC:
        raise StoreError(
            f"{path} is not a SQLite database; move it aside and start again, "
            "or restore it from a backup"
        )


def prepare_workdir(workdir: Path) -> None:
    if workdir.exists() and not workdir.is_dir():
        raise StoreError(f"workdir {workdir} is a file, not a directory; choose another --workdir")
    try:
        workdir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StoreError(f"cannot create workdir {workdir}: {error.strerror}; choose another --workdir") from None
    if not os.access(workdir, os.W_OK | os.X_OK):
        raise StoreError(f"workdir {workdir} is not writable; choose another --workdir or fix its permissions")


def current_revision(connection: sqlite3.Connection) -> str | None:
    has_table = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='alembic_version'"
    ).fetchone()
    if not has_table:
        return None
    row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    return row[0] if row else None


def is_empty(connection: sqlite3.Connection) -> bool:
    return connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0


def schema_statements() -> list[str]:
    """schema.sql, one statement each (a transaction cannot run a script in one call)."""
    text = Path(__file__).with_name("schema.sql").read_text(encoding="utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
    return [statement.strip() for statement in body.split(";\n") if statement.strip()]


def create_current_schema(connection: sqlite3.Connection) -> None:
    """A new database gets the current schema at once: what every migration in turn would build, faster."""
    for statement in schema_statements():
        connection.execute(statement)
    connection.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (SCHEMA_HEAD,))


def check_revision(revision: str | None, path: Path) -> None:
    if revision is not None and revision not in KNOWN_REVISIONS:
        raise SchemaTooNewError(
            f"{path} was written by a newer pbt-track (schema {revision}, this one knows up to "
            f"{SCHEMA_HEAD}); upgrade pbt-track (pip install -U pbt-track) to use it"
        )


def insert_many(connection: sqlite3.Connection, table: str, rows: list[dict[str, Any]]) -> None:
    """Rows that share their keys, in one executemany, stored as SQLAlchemy stores them."""
    if not rows:
        return
    columns = list(rows[0])
    json_columns = JSON_COLUMNS.get(table, frozenset())
    statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    connection.executemany(statement, [
        tuple(
            json.dumps(row[column]) if column in json_columns
            else sql_time(row[column]) if isinstance(row[column], datetime)
            else row[column]
            for column in columns
        )
        for row in rows
    ])


class PlainStore:
    """An open, current database of one workdir, on one sqlite3 connection."""

    def __init__(self, workdir: Path, connection: sqlite3.Connection) -> None:
        self.workdir = workdir
        self.path = db_path(workdir)
        self._connection = connection

    @contextmanager
    def plain(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed when the block ends, rolled back if it raises."""
        connection = self._connection
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        except sqlite3.Error as error:
            raise store_error(self.path, error) from None

    def close(self) -> None:
        self._connection.close()


def open_plain_store(workdir: str | os.PathLike[str]) -> PlainStore:
    """The workdir's database, created at the current schema if new; older ones are migrated first."""
    workdir = Path(workdir).absolute()
    path = db_path(workdir)
    prepare_workdir(workdir)
    if path.exists():
        check_file(path)
    try:
        connection = sqlite3.connect(path, timeout=settings.busy_timeout())
    except sqlite3.Error as error:
        raise store_error(path, error) from None
    store = PlainStore(workdir, connection)
    try:
        configure(connection, journal_mode(workdir))
        with store.plain():
            revision = current_revision(connection)
            if revision is None and is_empty(connection):
                create_current_schema(connection)
                return store
        check_revision(revision, path)
    except sqlite3.Error as error:
        store.close()
        raise store_error(path, error) from None
    except BaseException:
        store.close()
        raise
    if revision != SCHEMA_HEAD:
        from pbt_tracker.store.engine import open_store

        open_store(workdir).close()  # the migrations need alembic; the launch goes on here after
    return store


def require_database(workdir: Path) -> None:
    if not db_path(workdir).is_file():
        raise NoDatabaseError(
            f"no pbt-track database in {workdir} (looked for {DB_FILENAME}); "
            "pass the --workdir of a launch, or set PBT_TRACK_WORKDIR"
        )
