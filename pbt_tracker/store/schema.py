"""The schema is its migration chain: `migrations/versions/NNNN_*.py`, each a tuple of SQL statements.

There is no second statement of the schema to keep equal to the first. A new
database runs the chain's statements here, with the standard library's
sqlite3 (a launch must not pay for importing SQLAlchemy); a database at an
older revision is upgraded by alembic, which runs the same statements.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import Connection

# Exactly the table alembic creates, so that alembic reads and upgrades a database built here.
_VERSION_TABLE = """CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
)"""


@cache
def migrations_dir() -> Path:
    """Where the chain is, found without importlib.resources: every command opens the record and reads the head.

    An installed wheel has it inside the package; a source checkout (editable
    or not) has it beside the package; anything else asks the import system.
    """
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "migrations", package.parent / "migrations"):
        if (candidate / "versions").is_dir():
            return candidate
    from importlib.resources import files

    return Path(str(files("pbt_tracker.migrations")))


def revisions() -> list[str]:
    """The chain's revision ids, oldest first: the file names' numbers (a test checks they match the modules)."""
    return list(_chain(migrations_dir() / "versions"))


def head() -> str:
    return revisions()[-1]


@cache
def _chain(versions: Path) -> dict[str, Path]:
    """Each revision's file, oldest first, from one listing of the folder: an open asks for the head several times."""
    chain: dict[str, Path] = {}
    for path in sorted(versions.glob("[0-9][0-9][0-9][0-9]_*.py")):
        assert path.name[:4] not in chain, f"two migrations are revision {path.name[:4]}"
        chain[path.name[:4]] = path
    return chain


@cache
def migration(revision: str) -> ModuleType:
    import importlib.util

    path = _chain(migrations_dir() / "versions")[revision]
    spec = importlib.util.spec_from_file_location(f"_pbt_track_migration_{revision}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_in_alembic(statements: Iterable[str]) -> None:
    """A migration's upgrade or downgrade under alembic: its statements, in order."""
    from alembic import op

    for statement in statements:
        op.execute(statement)


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


def create(connection: sqlite3.Connection) -> None:
    """Build a new database by running every migration's statements, inside the caller's transaction."""
    chain = revisions()
    for revision in chain:
        for statement in migration(revision).UPGRADE:
            connection.execute(statement)
    connection.execute(_VERSION_TABLE)
    connection.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (chain[-1],))


def upgrade(path: Path, revision: str = "head") -> None:
    """Upgrade an older database with alembic, in one transaction: a failure leaves the old schema as it was."""
    from alembic import command
    from sqlalchemy import create_engine, event

    from pbt_tracker import settings

    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": settings.busy_timeout()})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), revision)
    finally:
        engine.dispose()


def downgrade(path: Path, revision: str) -> None:
    from alembic import command
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), revision)
    finally:
        engine.dispose()


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["connection"] = connection
    return config
