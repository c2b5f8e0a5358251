"""Alembic environment for pbt-track: always run on a connection handed in by code."""

from alembic import context
from sqlalchemy import create_engine

from pbt_tracker.store.models import Base

config = context.config
connection = config.attributes.get("connection")


def _run(conn) -> None:
    context.configure(connection=conn, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:
    # Developer use (`alembic -x url=sqlite:///path revision --autogenerate`).
    url = context.get_x_argument(as_dictionary=True).get("url", "sqlite:///pbt_tracker.db")
    with create_engine(url).connect() as conn:
        _run(conn)
        conn.commit()
