"""The signal that ended a job, apart from its exit code, and why a pending job waits

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from pbt_tracker.store.schema import run_in_alembic

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UPGRADE = (
    # sacct's ExitCode N:S: exit_code holds N, exit_signal S (0:9 is a job killed by SIGKILL).
    "ALTER TABLE submissions ADD COLUMN exit_signal INTEGER",
    # squeue's Reason of a waiting job (Resources, Priority, JobHeldUser, ...); cleared once it runs.
    "ALTER TABLE submissions ADD COLUMN pending_reason VARCHAR",
)

DOWNGRADE = (
    "ALTER TABLE submissions DROP COLUMN pending_reason",
    "ALTER TABLE submissions DROP COLUMN exit_signal",
)


def upgrade() -> None:
    run_in_alembic(UPGRADE)


def downgrade() -> None:
    run_in_alembic(DOWNGRADE)
