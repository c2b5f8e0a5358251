"""Job arrays: the slurm_arrays table, and each submission's array and task

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from pbt_tracker.store.schema import run_in_alembic

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UPGRADE = (
    """CREATE TABLE slurm_arrays (
        id INTEGER NOT NULL,
        launch_id INTEGER NOT NULL,
        path VARCHAR NOT NULL,
        text TEXT NOT NULL,
        sha256 VARCHAR(64) NOT NULL,
        argv JSON NOT NULL,
        task_count INTEGER NOT NULL,
        job_id VARCHAR,
        submit_returncode INTEGER,
        submit_stdout TEXT,
        submit_stderr TEXT,
        intended_at DATETIME NOT NULL,
        submitted_at DATETIME,
        PRIMARY KEY (id),
        FOREIGN KEY(launch_id) REFERENCES launches (id) ON DELETE CASCADE
)""",
    "CREATE INDEX ix_slurm_arrays_launch_id ON slurm_arrays (launch_id)",
    # SQLite adds a column with its foreign key in place, without rebuilding the table the view reads.
    "ALTER TABLE submissions ADD COLUMN array_id INTEGER REFERENCES slurm_arrays (id)",
    "ALTER TABLE submissions ADD COLUMN array_task INTEGER",
)

DOWNGRADE = (
    "ALTER TABLE submissions DROP COLUMN array_task",
    "ALTER TABLE submissions DROP COLUMN array_id",
    "DROP INDEX ix_slurm_arrays_launch_id",
    "DROP TABLE slurm_arrays",
)


def upgrade() -> None:
    run_in_alembic(UPGRADE)


def downgrade() -> None:
    run_in_alembic(DOWNGRADE)
