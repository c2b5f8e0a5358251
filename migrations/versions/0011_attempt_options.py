"""The launch options an attempt was sent with in place of its launch's (resubmit-failed --slurm_partition, ...)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08
"""

from pbt_tracker.store.schema import run_in_alembic

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

UPGRADE = (
    # JSON {option name: value}, e.g. {"slurm_partition": "gpu"}; NULL where the attempt used its launch's options.
    # A later attempt inherits them, so the keeper's resumes keep what a resubmit changed.
    "ALTER TABLE submissions ADD COLUMN options JSON",
)

DOWNGRADE = ("ALTER TABLE submissions DROP COLUMN options",)


def upgrade() -> None:
    run_in_alembic(UPGRADE)


def downgrade() -> None:
    run_in_alembic(DOWNGRADE)
