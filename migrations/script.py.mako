"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

from pbt_tracker.store.schema import run_in_alembic

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}

# Plain SQL: pbt-track runs these itself to build a new database. Name the file NNNN_<what>.py.
UPGRADE = (
)

DOWNGRADE = (
)


def upgrade() -> None:
    run_in_alembic(UPGRADE)


def downgrade() -> None:
    run_in_alembic(DOWNGRADE)
