"""How far the scheduler's clock was seen off this host's when a job's times were recorded, so that reports mark them

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from pbt_tracker.store.schema import run_in_alembic

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

UPGRADE = ("ALTER TABLE submissions ADD COLUMN clock_skew INTEGER",)

DOWNGRADE = ("ALTER TABLE submissions DROP COLUMN clock_skew",)


def upgrade() -> None:
    run_in_alembic(UPGRADE)


def downgrade() -> None:
    run_in_alembic(DOWNGRADE)
