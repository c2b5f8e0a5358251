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
from pbt_tracker.errors import StoreError
from pbt_tracker.store.plain import (
    SCHEMA_HEAD,
    check_file,
    check_revision,
    configure,
    create_current_schema,
    current_revision,
    db_path,
    is_empty,
    journal_mode,
    prepare_workdir,
    require_database,
    store_error,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

def make_engine(path: Path, busy_timeout: float | None = None) -> Engine:
    busy_timeout = settings.busy_timeout() if busy_timeout is None else busy_timeout
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": busy_timeout})
    mode = journal_mode(path.parent)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        configure(dbapi_connection, mode)

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
    def plain(self) -> Iterator[sqlite3.Connection]:
        """A short write transaction on the sqlite3 connection under one kept for the store's life.

        The per-job statements, shared with PlainStore, run here.
        """
        with translate_db_errors(self.path):
            if self._connection is None:
                self._connection = self.engine.connect()
            with self._connection.begin():
                yield self._connection.connection.driver_connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self.engine.dispose()


@contextmanager
def translate_db_errors(path: Path) -> Iterator[None]:
    """Turn SQLite's failures, through SQLAlchemy or straight from sqlite3, into one line."""
    try:
        yield
    except exc.DBAPIError as error:
        if isinstance(error.orig, sqlite3.Error):
            raise store_error(path, error.orig) from None
        raise StoreError(f"cannot use {path}: {error.orig}") from None
    except sqlite3.Error as error:
        raise store_error(path, error) from None


def open_store(workdir: str | os.PathLike[str], create: bool = True) -> Store:
    """Open the workdir's database, creating or upgrading its schema as needed.

    With `create=False` a missing database is an error rather than a new file:
    commands that only read a record must not leave empty databases behind.
    """
    workdir = Path(workdir).absolute()
    path = db_path(workdir)
    if create:
        prepare_workdir(workdir)
    else:
        require_database(workdir)
    if path.exists():
        check_file(path)
    engine = make_engine(path)
    try:
        with translate_db_errors(path):
            _migrate(engine, path)
    except BaseException:
        engine.dispose()
        raise
    return Store(workdir, engine)


def _migrate(engine: Engine, path: Path) -> None:
    """Bring the schema to SCHEMA_HEAD in one write transaction.

    The common case (already current) costs one query and never imports
    alembic. The write lock is taken before the version is read, so two
    processes opening a new workdir at once cannot both create the tables.
    """
    with engine.connect() as connection:
        if current_revision(connection.connection.driver_connection) == SCHEMA_HEAD:
            return
    with engine.begin() as connection:
        raw = connection.connection.driver_connection
        revision = current_revision(raw)
        if revision == SCHEMA_HEAD:
            return
        if revision is None and is_empty(raw):
            create_current_schema(raw)
            return
        check_revision(revision, path)
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
