"""Opening the workdir's database: connection settings, schema check, migration.

Several pbt-track processes may share one workdir (a launcher, a report in
another shell, a cron sync). Every transaction therefore starts with
`BEGIN IMMEDIATE`: a transaction that reads and then writes would otherwise
fail at once with "database is locked" instead of waiting for the busy timeout.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, event, exc

from pbt_tracker import settings
from pbt_tracker.errors import NoDatabaseError, SchemaTooNewError, StoreError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

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


def db_path(workdir: str | os.PathLike[str]) -> Path:
    return Path(workdir) / DB_FILENAME


def make_engine(path: Path, busy_timeout: float | None = None) -> Engine:
    busy_timeout = settings.busy_timeout() if busy_timeout is None else busy_timeout
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": busy_timeout})
    mode = journal_mode(path.parent)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA journal_mode={mode}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Store:
    """An open, current database of one workdir.

    The ORM is imported by the first `transaction()`, not before: with the
    models it is about a quarter of a `pbt-track report`, which reads through
    `read()` and needs neither.
    """

    def __init__(self, workdir: Path, engine: Engine) -> None:
        self.workdir = workdir
        self.path = db_path(workdir)
        self.engine = engine
        self._sessions: sessionmaker[Session] | None = None
        self._connection: Connection | None = None

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work is committed as one write transaction, or not at all."""
        if self._sessions is None:
            from sqlalchemy.orm import sessionmaker

            self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        with translate_db_errors(self.path), self._sessions.begin() as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A Core connection in one transaction, for readers that need no ORM objects."""
        with translate_db_errors(self.path), self.engine.begin() as connection:
            yield connection

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A short write transaction on one connection kept for the store's life: the per-job path."""
        with translate_db_errors(self.path):
            if self._connection is None:
                self._connection = self.engine.connect()
            with self._connection.begin():
                yield self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self.engine.dispose()


@contextmanager
def translate_db_errors(path: Path) -> Iterator[None]:
    """Turn SQLite's failures into one line that names the file and the remedy."""
    try:
        yield
    except exc.OperationalError as error:
        text = str(error.orig)
        if "locked" in text or "busy" in text:
            raise StoreError(
                f"{path} stayed locked by another pbt-track process for more than "
                f"{settings.busy_timeout():g} s; try again when it has finished "
                "(or raise PBT_TRACK_BUSY_TIMEOUT)"
            ) from None
        if "disk" in text and "full" in text:
            raise StoreError(f"cannot write {path}: the disk is full; free some space and try again") from None
        raise StoreError(f"cannot use {path}: {text}") from None
    except exc.DatabaseError as error:
        raise StoreError(
            f"{path} is not a readable pbt-track database ({error.orig}); "
            "move it aside and start again, or restore it from a backup"
        ) from None


def _check_file(path: Path) -> None:
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


def _prepare_workdir(workdir: Path) -> None:
    if workdir.exists() and not workdir.is_dir():
        raise StoreError(f"workdir {workdir} is a file, not a directory; choose another --workdir")
    try:
        workdir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StoreError(f"cannot create workdir {workdir}: {error.strerror}; choose another --workdir") from None
    if not os.access(workdir, os.W_OK | os.X_OK):
        raise StoreError(f"workdir {workdir} is not writable; choose another --workdir or fix its permissions")


def open_store(workdir: str | os.PathLike[str], create: bool = True) -> Store:
    """Open the workdir's database, creating or upgrading its schema as needed.

    With `create=False` a missing database is an error rather than a new file:
    commands that only read a record must not leave empty databases behind.
    """
    workdir = Path(workdir).absolute()
    path = db_path(workdir)
    if create:
        _prepare_workdir(workdir)
    elif not path.is_file():
        raise NoDatabaseError(
            f"no pbt-track database in {workdir} (looked for {DB_FILENAME}); "
            "pass the --workdir of a launch, or set PBT_TRACK_WORKDIR"
        )
    if path.exists():
        _check_file(path)
    engine = make_engine(path)
    try:
        with translate_db_errors(path):
            _migrate(engine, path)
    except BaseException:
        engine.dispose()
        raise
    return Store(workdir, engine)


def _current_revision(connection) -> str | None:  # type: ignore[no-untyped-def]
    has_table = connection.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='alembic_version'"
    ).first()
    if not has_table:
        return None
    row = connection.exec_driver_sql("SELECT version_num FROM alembic_version").first()
    return row[0] if row else None


def _is_empty(connection: Connection) -> bool:
    return connection.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar() == 0


def _create_current_schema(connection: Connection) -> None:
    """A new database gets the current schema at once: the same as every migration run in turn, faster.

    Running the migrations imports alembic and replays history, about half a
    second; a new workdir is the common case of a launch. A test checks that
    both roads give the same tables, indexes and views.
    """
    from pbt_tracker.store.tables import metadata
    from pbt_tracker.store.views import EXPERIMENT_STATUS_VIEW

    metadata.create_all(connection)
    connection.exec_driver_sql(EXPERIMENT_STATUS_VIEW)
    connection.exec_driver_sql(
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
        "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
    )
    connection.exec_driver_sql("INSERT INTO alembic_version (version_num) VALUES (?)", (SCHEMA_HEAD,))


def _migrate(engine: Engine, path: Path) -> None:
    """Bring the schema to SCHEMA_HEAD in one write transaction.

    The common case (already current) costs one query and never imports
    alembic. The write lock is taken before the version is read, so two
    processes opening a new workdir at once cannot both create the tables.
    """
    with engine.connect() as connection:
        if _current_revision(connection) == SCHEMA_HEAD:
            return
    with engine.begin() as connection:
        revision = _current_revision(connection)
        if revision == SCHEMA_HEAD:
            return
        if revision is None and _is_empty(connection):
            _create_current_schema(connection)
            return
        if revision is not None and revision not in KNOWN_REVISIONS:
            raise SchemaTooNewError(
                f"{path} was written by a newer pbt-track (schema {revision}, this one knows up to "
                f"{SCHEMA_HEAD}); upgrade pbt-track (pip install -U pbt-track) to use it"
            )
        from pbt_tracker.store.migrate import upgrade

        try:
            upgrade(connection)
        except exc.OperationalError:
            raise  # a lock or a full disk: translate_db_errors words it
        except Exception as error:  # the transaction rolls back: the old schema stays as it was
            raise StoreError(
                f"upgrading {path} from schema {revision or 'none'} to {SCHEMA_HEAD} failed "
                f"({type(error).__name__}: {error}); the database was left unchanged, report this as a bug"
            ) from error
