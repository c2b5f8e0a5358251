"""SQL views of the record, created by the migrations and, for a new database, directly."""

# One row per experiment: its latest attempt. Documented in the README; keep the columns stable.
# Migration 0002 holds the SQL it created; a test checks that a new database gets the same view.
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
