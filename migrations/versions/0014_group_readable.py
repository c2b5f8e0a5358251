"""Whether a launch asked for its files to be readable by the owner's group (`--group-readable`)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from pbt_tracker.store.schema import run_in_alembic

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

UPGRADE = ("ALTER TABLE launches ADD COLUMN group_readable INTEGER NOT NULL DEFAULT 0",)

DOWNGRADE = ("ALTER TABLE launches DROP COLUMN group_readable",)


def upgrade() -> None:
    run_in_alembic(UPGRADE)


def downgrade() -> None:
    run_in_alembic(DOWNGRADE)
