"""PBT starts: the command lines policies re-executed themselves with, and whether continuations carried them

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08

A replacement or mutation lives only on the restarted process's command line
until the policy's next save; these rows keep it, say whether a continuation
carried it or undid it, and when its checkpoint copy was removed.
"""

from pbt_tracker.store.schema import run_in_alembic

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

UPGRADE = (
    """CREATE TABLE pbt_starts (
        id INTEGER NOT NULL,
        submission_id INTEGER NOT NULL,
        policy INTEGER NOT NULL,
        iteration INTEGER,
        donor INTEGER,
        checkpoint VARCHAR,
        experiment_name VARCHAR,
        args JSON NOT NULL,
        log_offset INTEGER NOT NULL,
        observed_at DATETIME NOT NULL,
        outcome VARCHAR,
        outcome_submission_id INTEGER,
        outcome_detail TEXT,
        outcome_at DATETIME,
        cleaned_at DATETIME,
        PRIMARY KEY (id),
        FOREIGN KEY(submission_id) REFERENCES submissions (id) ON DELETE CASCADE,
        FOREIGN KEY(outcome_submission_id) REFERENCES submissions (id) ON DELETE SET NULL,
        CONSTRAINT uq_pbt_starts_log_offset UNIQUE (submission_id, log_offset)
)""",
)

DOWNGRADE = ("DROP TABLE pbt_starts",)


def upgrade() -> None:
    run_in_alembic(UPGRADE)


def downgrade() -> None:
    run_in_alembic(DOWNGRADE)
