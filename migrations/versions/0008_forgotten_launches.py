"""Launches a user has forgotten: hidden from every command but `--all-launches`, nothing deleted

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from pbt_tracker.store.schema import run_in_alembic

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UPGRADE = ("ALTER TABLE launches ADD COLUMN forgotten_at DATETIME",)

DOWNGRADE = ("ALTER TABLE launches DROP COLUMN forgotten_at",)


def upgrade() -> None:
    run_in_alembic(UPGRADE)


def downgrade() -> None:
    run_in_alembic(DOWNGRADE)
