"""Cancel requests, and the experiment_status view for users' own queries

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from pbt_tracker.store.schema import run_in_alembic

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# One row per experiment: its latest attempt. Documented in the README; keep the columns stable.
EXPERIMENT_STATUS_VIEW = """
CREATE VIEW experiment_status AS
SELECT
    l.run_name AS run,
    e.name AS experiment,
    s.attempt AS attempt,
    s.job_id AS job_id,
    s.state AS state,
    s.exit_code AS exit_code,
    sc.path AS script_path,
    CASE WHEN s.job_id IS NULL THEN NULL ELSE replace(s.log_path, '%j', s.job_id) END AS log_path,
    s.submitted_at AS submitted_at,
    s.updated_at AS updated_at,
    e.base_name AS base_name,
    s.node AS node,
    s.started_at AS started_at,
    s.ended_at AS ended_at,
    l.id AS launch_id,
    e.id AS experiment_id,
    s.id AS submission_id
FROM submissions AS s
JOIN experiments AS e ON e.id = s.experiment_id
JOIN launches AS l ON l.id = e.launch_id
LEFT JOIN scripts AS sc ON sc.id = s.script_id
WHERE s.attempt = (SELECT max(latest.attempt) FROM submissions AS latest WHERE latest.experiment_id = s.experiment_id)
"""

UPGRADE = (
    """CREATE TABLE cancellations (
        id INTEGER NOT NULL,
        selection JSON NOT NULL,
        job_ids JSON NOT NULL,
        argv JSON NOT NULL,
        returncode INTEGER,
        stdout TEXT,
        stderr TEXT,
        requested_at DATETIME NOT NULL,
        completed_at DATETIME,
        PRIMARY KEY (id)
)""",
    EXPERIMENT_STATUS_VIEW,
)

DOWNGRADE = ("DROP VIEW experiment_status", "DROP TABLE cancellations")


def upgrade() -> None:
    run_in_alembic(UPGRADE)


def downgrade() -> None:
    run_in_alembic(DOWNGRADE)
