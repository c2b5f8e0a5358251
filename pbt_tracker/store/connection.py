"""Opening the workdir's database on the standard library's sqlite3, the one connection API of pbt-track.

Several pbt-track processes may share one workdir (a launcher, a report in
another shell, a cron sync). Every writing transaction therefore starts with
`BEGIN IMMEDIATE`: one that reads and then writes would otherwise fail at once
with "database is locked" instead of waiting for the busy timeout.
SQLAlchemy and alembic are imported only to upgrade an older database.

A database that is not sound is refused, never written: a damaged page can
make rows vanish without any error, and a write on top of it would bury the
damage. SQLite's `quick_check` reads every page, so it costs in proportion to
the record: every open looks for every table and checks `launches` alone (a
few pages; every row hangs from a launch), and refuses a 0-byte file, which
pbt-track never leaves (`_create_database`). The full check comes before the
first write of each open: inside the write lock, or earlier on a snapshot
while the command waits for something else (`Store.check_before_writing`).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, overload

from pbt_tracker import settings
from pbt_tracker.errors import NoDatabaseError, SchemaTooNewError, StoreError
from pbt_tracker.files import check_path_inert, file_mode, make_dirs
from pbt_tracker.store import schema, schema_head
from pbt_tracker.store.file_checks import check_file, check_workdir_length, warn_if_world_readable
from pbt_tracker.store.journal import configure, journal_mode
from pbt_tracker.store.soundness import check_aside, check_fully, check_quickly, unsound

if TYPE_CHECKING:
    from pbt_tracker.in_background import InBackground

DB_FILENAME = "pbt_tracker.db"


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def sql_time(moment: datetime) -> str:
    """A time as the record stores it: UTC, naive, to the microsecond (what SQLAlchemy's SQLite dialect wrote)."""
    return moment.isoformat(sep=" ", timespec="microseconds")


@overload
def parse_time(text: str) -> datetime: ...
@overload
def parse_time(text: None) -> None: ...
@overload
def parse_time(text: str | None) -> datetime | None: ...
def parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None


def fetch_rows(connection: sqlite3.Connection, sql: str, params: Iterable[object] = ()) -> list[sqlite3.Row]:
    """The statement's rows, each readable by column name as well as by position."""
    cursor = connection.cursor()
    cursor.row_factory = sqlite3.Row
    return cursor.execute(sql, tuple(params)).fetchall()


def db_path(workdir: str | os.PathLike[str]) -> Path:
    return Path(workdir) / DB_FILENAME


def store_error(path: Path, error: sqlite3.Error) -> StoreError:
    """SQLite's failure as one line that names the file and the remedy."""
    text = str(error)
    if isinstance(error, sqlite3.OperationalError) and text.startswith("no such table"):
        return unsound(path, f"it has {text}")
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
    if text == "file is not a database":
        return StoreError(f"{path} is not a SQLite database; move it aside and start again, or restore it from a backup")
    return StoreError(
        f"{path} is not a readable pbt-track database ({text}); "
        "move it aside and start again, or restore it from a backup"
    )


def _create_database(path: Path) -> None:
    """A new database appears under its name complete, never as an empty file.

    It is built beside its final name and linked there (link never replaces a
    file), so that a 0-byte pbt_tracker.db is always someone else's doing and
    can be refused; of two processes creating it at once, the second finds
    the first's and uses it.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.new")
    try:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, file_mode()))  # SQLite's journals copy its mode
        connection = sqlite3.connect(tmp)
        try:
            connection.isolation_level = None
            connection.execute("BEGIN IMMEDIATE")
            schema.create(connection)
            connection.execute("COMMIT")
        finally:
            connection.close()
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        except OSError:  # a filesystem without hard links: the narrow race is taken there
            if not path.exists():
                os.replace(tmp, path)
    except sqlite3.Error as error:
        raise store_error(path, error) from None
    except OSError as error:
        raise StoreError(f"cannot create {path}: {error.strerror}; choose another --workdir") from None
    finally:
        tmp.unlink(missing_ok=True)


def prepare_workdir(workdir: Path) -> None:
    if workdir.exists() and not workdir.is_dir():
        raise StoreError(f"workdir {workdir} is a file, not a directory; choose another --workdir")
    try:
        make_dirs(workdir)
    except OSError as error:
        raise StoreError(f"cannot create workdir {workdir}: {error.strerror}; choose another --workdir") from None
    if not os.access(workdir, os.W_OK | os.X_OK):
        raise StoreError(f"workdir {workdir} is not writable; choose another --workdir or fix its permissions")


class Store:
    """An open, current database of one workdir, on one sqlite3 connection."""

    def __init__(self, workdir: Path, connection: sqlite3.Connection) -> None:
        self.workdir = workdir
        self.path = db_path(workdir)
        self.connection = connection
        self._checked = False
        self._checking: InBackground[None] | None = None

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, committed when the block ends, rolled back if it raises; the first checks the file.

        A check made aside is awaited before the write lock is taken: its connection may need that lock.
        """
        if self._checking is not None and not self._checked:
            try:
                self._checking.result()
            except sqlite3.Error as error:
                raise store_error(self.path, error) from None
            self._checked = True
        with self._transaction("BEGIN IMMEDIATE") as connection:
            if not self._checked:
                check_fully(connection, self.path)
                self._checked = True
            yield connection

    def check_before_writing(self, aside: bool = False) -> None:
        """The first write's check of every page, made while the command waits for a sync's squeue, or (`aside`,
        on a connection of its own in a thread) loads its modules. On a record of tens of megabytes it takes as
        long as a scheduler call. It reads a snapshot: what another process writes meanwhile, it checked first."""
        if self._checked or self._checking is not None:
            return
        if aside:
            self._checking = check_aside(self.path)
            return
        with self.read() as connection:
            check_fully(connection, self.path)
        self._checked = True

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: every statement in it sees the same snapshot."""
        with self._transaction("BEGIN") as connection:
            yield connection

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[sqlite3.Connection]:
        connection = self.connection
        try:
            connection.execute(begin)
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        except sqlite3.Error as error:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise store_error(self.path, error) from None

    def close(self) -> None:
        """After a check aside has ended: this connection closes last, so that it checkpoints and takes the WAL away."""
        if self._checking is not None:
            try:
                self._checking.result()
            except (StoreError, sqlite3.Error):  # a finding only a write needed
                pass
        self.connection.close()


def open_store(workdir: str | os.PathLike[str], create: bool = True) -> Store:
    """The workdir's database, created at the current schema if new, upgraded if older.

    With `create=False` a missing database is an error rather than a new file:
    commands that only read a record must not leave empty databases behind.
    """
    check_path_inert(workdir, "workdir")
    workdir = Path(os.path.abspath(workdir))  # `a/../b` printed as `b`; symlinks kept as given
    path = db_path(workdir)
    if create:
        check_workdir_length(workdir)
        prepare_workdir(workdir)
        if not path.exists():
            _create_database(path)
    else:
        require_database(workdir)
    check_file(path)
    try:
        connection = sqlite3.connect(path, timeout=settings.busy_timeout())
    except sqlite3.Error as error:
        raise store_error(path, error) from None
    store = Store(workdir, connection)
    try:
        configure(connection, journal_mode(workdir))
        head = schema_head.HEAD
        if schema.current_revision(connection) != head:
            _bring_to_head(store, head)
        check_quickly(connection, path)
    except sqlite3.Error as error:
        store.close()
        raise store_error(path, error) from None
    except BaseException:
        store.close()
        raise
    warn_if_world_readable(path)  # once it is known to be a record: a broken file's refusal stays one line
    return store


def _bring_to_head(store: Store, head: str) -> None:
    """Create or upgrade the schema. The write lock is taken before the revision is read again,
    so two processes opening a new workdir at once cannot both create the tables."""
    with store.write() as connection:
        revision = schema.current_revision(connection)
        if revision == head:
            return
        if revision is None and schema.is_empty(connection):
            schema.create(connection)
            return
    if revision is not None and revision not in schema.revisions():
        raise SchemaTooNewError(
            f"{store.path} was written by a newer pbt-track (schema {revision}, this one knows up to "
            f"{head}); upgrade pbt-track (pip install -U pbt-track) to use it"
        )
    try:
        schema.upgrade(store.path)
    except Exception as error:  # alembic's transaction rolled back: the old schema stays as it was
        orig = getattr(error, "orig", None)
        if isinstance(orig, sqlite3.OperationalError):
            raise store_error(store.path, orig) from None
        raise StoreError(
            f"upgrading {store.path} from schema {revision or 'none'} to {head} failed "
            f"({type(error).__name__}: {error}); the database was left unchanged, report this as a bug"
        ) from error



def require_database(workdir: Path) -> None:
    if not db_path(workdir).is_file():
        raise NoDatabaseError(
            f"no pbt-track database in {workdir} (looked for {DB_FILENAME}); "
            "pass the --workdir of a launch, or set PBT_TRACK_WORKDIR"
        )
