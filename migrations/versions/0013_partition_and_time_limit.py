"""The partition a job runs in and its time limit, as Slurm answered a sync

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from pbt_tracker.store.schema import run_in_alembic

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

UPGRADE = (
    # squeue's and sacct's Partition: what the job got, whether the template, an option or the cluster chose it.
    "ALTER TABLE submissions ADD COLUMN partition VARCHAR",
    # squeue's TimeLimit and sacct's Timelimit as Slurm prints them (1-00:00:00, 30:00, UNLIMITED).
    "ALTER TABLE submissions ADD COLUMN time_limit VARCHAR",
)

DOWNGRADE = (
    "ALTER TABLE submissions DROP COLUMN time_limit",
    "ALTER TABLE submissions DROP COLUMN partition",
)


def upgrade() -> None:
    run_in_alembic(UPGRADE)


def downgrade() -> None:
    run_in_alembic(DOWNGRADE)
