"""When the scheduler last answered a sync, so that a report made while it cannot be reached says how old its states are

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from pbt_tracker.store.schema import run_in_alembic

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

UPGRADE = (
    """CREATE TABLE sync_runs (
        backend VARCHAR NOT NULL,
        answered_at DATETIME NOT NULL,
        PRIMARY KEY (backend)
)""",
)

DOWNGRADE = ("DROP TABLE sync_runs",)


def upgrade() -> None:
    run_in_alembic(UPGRADE)


def downgrade() -> None:
    run_in_alembic(DOWNGRADE)
