"""Alembic environment for pbt-track: always run on a connection handed in by code.

The migrations are plain SQL and need no models (there are none to compare against).
"""

from alembic import context
from sqlalchemy import create_engine

config = context.config
connection = config.attributes.get("connection")


def _run(conn) -> None:
    context.configure(connection=conn, target_metadata=None, transactional_ddl=True)
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:
    # Developer use (`alembic -x url=sqlite:///path upgrade head`).
    url = context.get_x_argument(as_dictionary=True).get("url", "sqlite:///pbt_tracker.db")
    with create_engine(url).connect() as conn:
        _run(conn)
        conn.commit()
