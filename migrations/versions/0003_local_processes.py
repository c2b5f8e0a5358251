"""Columns for the processes backend (host, pid start time, runner, cancel requests); launch cwd and uuid

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from pbt_tracker.store.schema import run_in_alembic

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UPGRADE = (
    "ALTER TABLE submissions ADD COLUMN cancel_requested_at DATETIME",
    "ALTER TABLE submissions ADD COLUMN host VARCHAR",
    "ALTER TABLE submissions ADD COLUMN process_start INTEGER",
    "ALTER TABLE submissions ADD COLUMN runner_pid INTEGER",
    "ALTER TABLE submissions ADD COLUMN runner_start INTEGER",
    "ALTER TABLE submissions ADD COLUMN submit_pid INTEGER",
    "ALTER TABLE submissions ADD COLUMN submit_pid_start INTEGER",
    "ALTER TABLE launches ADD COLUMN cwd VARCHAR",
    "ALTER TABLE launches ADD COLUMN uuid VARCHAR(32)",
)

DOWNGRADE = (
    "ALTER TABLE launches DROP COLUMN uuid",
    "ALTER TABLE launches DROP COLUMN cwd",
    "ALTER TABLE submissions DROP COLUMN submit_pid_start",
    "ALTER TABLE submissions DROP COLUMN submit_pid",
    "ALTER TABLE submissions DROP COLUMN runner_start",
    "ALTER TABLE submissions DROP COLUMN runner_pid",
    "ALTER TABLE submissions DROP COLUMN process_start",
    "ALTER TABLE submissions DROP COLUMN host",
    "ALTER TABLE submissions DROP COLUMN cancel_requested_at",
)


def upgrade() -> None:
    run_in_alembic(UPGRADE)


def downgrade() -> None:
    run_in_alembic(DOWNGRADE)
