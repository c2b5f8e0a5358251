"""The signal that ended a job, why a pending job waits, how long it went unseen, and chained jobs

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
    # The first sync that did not find the job (or an uncertain submission's tag), and how many syncs since;
    # cleared when it is seen. A job is given up on only after several syncs and the cluster's MinJobAge.
    "ALTER TABLE submissions ADD COLUMN unseen_since DATETIME",
    "ALTER TABLE submissions ADD COLUMN unseen_count INTEGER",
    # The attempt whose job submitted this one from inside itself (a chain), or that it continues.
    "ALTER TABLE submissions ADD COLUMN parent_submission_id INTEGER REFERENCES submissions (id)",
    # How the attempt came to be: launch, resubmit, chain, keeper, continue.
    "ALTER TABLE submissions ADD COLUMN origin VARCHAR",
)

DOWNGRADE = (
    "ALTER TABLE submissions DROP COLUMN origin",
    "ALTER TABLE submissions DROP COLUMN parent_submission_id",
    "ALTER TABLE submissions DROP COLUMN unseen_count",
    "ALTER TABLE submissions DROP COLUMN unseen_since",
    "ALTER TABLE submissions DROP COLUMN pending_reason",
    "ALTER TABLE submissions DROP COLUMN exit_signal",
)


def upgrade() -> None:
    run_in_alembic(UPGRADE)


def downgrade() -> None:
    run_in_alembic(DOWNGRADE)
