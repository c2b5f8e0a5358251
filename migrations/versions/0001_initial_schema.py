"""The first schema: launches, experiments, their scripts, submissions and state changes

Revision ID: 0001
Revises:
Create Date: 2026-11-24

Each migration is plain SQL: pbt-track builds a new database by running the
chain's statements itself, without alembic; alembic runs the same statements
to upgrade an older database, so both roads give one schema.
"""

from pbt_tracker.store.schema import run_in_alembic

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UPGRADE = (
    """CREATE TABLE launches (
        id INTEGER NOT NULL,
        run_name VARCHAR NOT NULL,
        run_module VARCHAR NOT NULL,
        backend VARCHAR NOT NULL,
        workdir VARCHAR NOT NULL,
        train_dir VARCHAR NOT NULL,
        experiment_suffix VARCHAR NOT NULL,
        options JSON NOT NULL,
        template_path VARCHAR,
        template_text TEXT,
        print_only BOOLEAN NOT NULL,
        hostname VARCHAR NOT NULL,
        username VARCHAR NOT NULL,
        pbt_track_version VARCHAR NOT NULL,
        created_at DATETIME NOT NULL,
        PRIMARY KEY (id)
)""",
    """CREATE TABLE experiments (
        id INTEGER NOT NULL,
        launch_id INTEGER NOT NULL,
        position INTEGER NOT NULL,
        name VARCHAR NOT NULL,
        base_name VARCHAR NOT NULL,
        cmd TEXT NOT NULL,
        params JSON NOT NULL,
        env_vars JSON,
        root_dir VARCHAR NOT NULL,
        train_dir VARCHAR NOT NULL,
        PRIMARY KEY (id),
        FOREIGN KEY(launch_id) REFERENCES launches (id) ON DELETE CASCADE,
        CONSTRAINT uq_experiments_launch_name UNIQUE (launch_id, name)
)""",
    """CREATE INDEX ix_experiments_base_name ON experiments (base_name)""",
    """CREATE INDEX ix_experiments_name ON experiments (name)""",
    """CREATE TABLE scripts (
        id INTEGER NOT NULL,
        experiment_id INTEGER NOT NULL,
        path VARCHAR NOT NULL,
        text TEXT NOT NULL,
        sha256 VARCHAR(64) NOT NULL,
        created_at DATETIME NOT NULL,
        PRIMARY KEY (id),
        FOREIGN KEY(experiment_id) REFERENCES experiments (id) ON DELETE CASCADE
)""",
    """CREATE INDEX ix_scripts_experiment_id ON scripts (experiment_id)""",
    """CREATE TABLE submissions (
        id INTEGER NOT NULL,
        experiment_id INTEGER NOT NULL,
        script_id INTEGER,
        attempt INTEGER NOT NULL,
        argv JSON NOT NULL,
        log_path VARCHAR,
        state VARCHAR NOT NULL,
        job_id VARCHAR,
        cluster VARCHAR,
        submit_returncode INTEGER,
        submit_stdout TEXT,
        submit_stderr TEXT,
        exit_code INTEGER,
        node VARCHAR,
        started_at DATETIME,
        ended_at DATETIME,
        intended_at DATETIME NOT NULL,
        submitted_at DATETIME,
        updated_at DATETIME NOT NULL,
        PRIMARY KEY (id),
        FOREIGN KEY(experiment_id) REFERENCES experiments (id) ON DELETE CASCADE,
        FOREIGN KEY(script_id) REFERENCES scripts (id),
        CONSTRAINT uq_submissions_experiment_attempt UNIQUE (experiment_id, attempt)
)""",
    """CREATE INDEX ix_submissions_job_id ON submissions (job_id)""",
    """CREATE INDEX ix_submissions_state ON submissions (state)""",
    """CREATE TABLE state_changes (
        id INTEGER NOT NULL,
        submission_id INTEGER NOT NULL,
        state VARCHAR NOT NULL,
        observed_at DATETIME NOT NULL,
        detail TEXT,
        PRIMARY KEY (id),
        FOREIGN KEY(submission_id) REFERENCES submissions (id) ON DELETE CASCADE
)""",
    """CREATE INDEX ix_state_changes_submission_id ON state_changes (submission_id)""",
)

DOWNGRADE = (
    "DROP TABLE state_changes",
    "DROP TABLE submissions",
    "DROP TABLE scripts",
    "DROP TABLE experiments",
    "DROP TABLE launches",
)


def upgrade() -> None:
    run_in_alembic(UPGRADE)


def downgrade() -> None:
    run_in_alembic(DOWNGRADE)
