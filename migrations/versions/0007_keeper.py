"""The keeper: every decision it takes, and the lease that lets only one keeper act on a workdir

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from pbt_tracker.store.schema import run_in_alembic

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UPGRADE = (
    """CREATE TABLE keeper_decisions (
        id INTEGER NOT NULL,
        decided_at DATETIME NOT NULL,
        keeper VARCHAR NOT NULL,
        experiment_id INTEGER,
        submission_id INTEGER,
        action VARCHAR NOT NULL,
        reason TEXT NOT NULL,
        detail JSON,
        PRIMARY KEY (id),
        FOREIGN KEY(experiment_id) REFERENCES experiments (id) ON DELETE CASCADE,
        FOREIGN KEY(submission_id) REFERENCES submissions (id) ON DELETE CASCADE
)""",
    "CREATE INDEX ix_keeper_decisions_experiment_id ON keeper_decisions (experiment_id)",
    """CREATE TABLE keeper_lease (
        id INTEGER NOT NULL CHECK (id = 1),
        holder VARCHAR NOT NULL,
        host VARCHAR NOT NULL,
        pid INTEGER NOT NULL,
        acquired_at DATETIME NOT NULL,
        expires_at DATETIME NOT NULL,
        PRIMARY KEY (id)
)""",
)

DOWNGRADE = (
    "DROP TABLE keeper_lease",
    "DROP INDEX ix_keeper_decisions_experiment_id",
    "DROP TABLE keeper_decisions",
)


def upgrade() -> None:
    run_in_alembic(UPGRADE)


def downgrade() -> None:
    run_in_alembic(DOWNGRADE)
