"""PBT history: every iteration file of every policy, and the replacements policies printed

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29

IsaacGymEnvs keeps only the last iteration files of each policy; these rows
keep all of them, copied by each sync, so the history outlives its clean-up.
"""

from pbt_tracker.store.schema import run_in_alembic

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UPGRADE = (
    """CREATE TABLE pbt_iterations (
        id INTEGER NOT NULL,
        experiment_id INTEGER NOT NULL,
        policy INTEGER NOT NULL,
        iteration INTEGER NOT NULL,
        true_objective REAL,
        frame INTEGER,
        experiment_name VARCHAR,
        params JSON,
        checkpoint VARCHAR,
        file_key VARCHAR NOT NULL,
        file_mtime DATETIME,
        observed_at DATETIME NOT NULL,
        PRIMARY KEY (id),
        FOREIGN KEY(experiment_id) REFERENCES experiments (id) ON DELETE CASCADE,
        CONSTRAINT uq_pbt_iterations_file UNIQUE (experiment_id, file_key)
)""",
    "CREATE INDEX ix_pbt_iterations_experiment_iteration ON pbt_iterations (experiment_id, iteration)",
    """CREATE TABLE pbt_events (
        id INTEGER NOT NULL,
        submission_id INTEGER NOT NULL,
        policy INTEGER NOT NULL,
        donor INTEGER,
        iteration INTEGER,
        checkpoint VARCHAR,
        log_offset INTEGER NOT NULL,
        line TEXT,
        observed_at DATETIME NOT NULL,
        PRIMARY KEY (id),
        FOREIGN KEY(submission_id) REFERENCES submissions (id) ON DELETE CASCADE,
        CONSTRAINT uq_pbt_events_log_offset UNIQUE (submission_id, log_offset)
)""",
    # How far the lineage reader got in each attempt's log.
    "ALTER TABLE submissions ADD COLUMN log_read_offset INTEGER",
)

DOWNGRADE = (
    "ALTER TABLE submissions DROP COLUMN log_read_offset",
    "DROP TABLE pbt_events",
    "DROP INDEX ix_pbt_iterations_experiment_iteration",
    "DROP TABLE pbt_iterations",
)


def upgrade() -> None:
    run_in_alembic(UPGRADE)


def downgrade() -> None:
    run_in_alembic(DOWNGRADE)
