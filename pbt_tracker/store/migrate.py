"""Running the alembic migrations that ship inside the package.

Alembic is configured in code (there is no alembic.ini to find once the
package is installed), and works on the caller's connection so that the
upgrade shares the caller's write transaction.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection


def migrations_dir() -> str:
    try:
        return str(files("pbt_tracker.migrations"))
    except ModuleNotFoundError:
        # A source checkout imported without installing: migrations/ sits beside the package.
        return str(Path(__file__).resolve().parents[2] / "migrations")


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", migrations_dir())
    config.attributes["connection"] = connection
    return config


def upgrade(connection: Connection, revision: str = "head") -> None:
    command.upgrade(alembic_config(connection), revision)
