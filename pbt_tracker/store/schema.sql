-- The current schema of a new pbt-track database, run statement by statement in one transaction.
-- Written from pbt_tracker/store/tables.py and the experiment_status view that migration 0002 created
-- (keep its columns stable: the README documents them); tests check it against the migrations.

CREATE TABLE launches (
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
	cwd VARCHAR,
	uuid VARCHAR(32),
	PRIMARY KEY (id)
);

CREATE TABLE cancellations (
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
);

CREATE TABLE experiments (
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
	CONSTRAINT uq_experiments_launch_name UNIQUE (launch_id, name),
	FOREIGN KEY(launch_id) REFERENCES launches (id) ON DELETE CASCADE
);

CREATE INDEX ix_experiments_name ON experiments (name);

CREATE INDEX ix_experiments_base_name ON experiments (base_name);

CREATE TABLE slurm_arrays (
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
);

CREATE INDEX ix_slurm_arrays_launch_id ON slurm_arrays (launch_id);

CREATE TABLE scripts (
	id INTEGER NOT NULL,
	experiment_id INTEGER NOT NULL,
	path VARCHAR NOT NULL,
	text TEXT NOT NULL,
	sha256 VARCHAR(64) NOT NULL,
	created_at DATETIME NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(experiment_id) REFERENCES experiments (id) ON DELETE CASCADE
);

CREATE INDEX ix_scripts_experiment_id ON scripts (experiment_id);

CREATE TABLE submissions (
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
	cancel_requested_at DATETIME,
	host VARCHAR,
	process_start INTEGER,
	runner_pid INTEGER,
	runner_start INTEGER,
	submit_pid INTEGER,
	submit_pid_start INTEGER,
	array_id INTEGER,
	array_task INTEGER,
	PRIMARY KEY (id),
	CONSTRAINT uq_submissions_experiment_attempt UNIQUE (experiment_id, attempt),
	FOREIGN KEY(experiment_id) REFERENCES experiments (id) ON DELETE CASCADE,
	FOREIGN KEY(script_id) REFERENCES scripts (id),
	FOREIGN KEY(array_id) REFERENCES slurm_arrays (id)
);

CREATE INDEX ix_submissions_state ON submissions (state);

CREATE INDEX ix_submissions_job_id ON submissions (job_id);

CREATE TABLE state_changes (
	id INTEGER NOT NULL,
	submission_id INTEGER NOT NULL,
	state VARCHAR NOT NULL,
	observed_at DATETIME NOT NULL,
	detail TEXT,
	PRIMARY KEY (id),
	FOREIGN KEY(submission_id) REFERENCES submissions (id) ON DELETE CASCADE
);

CREATE INDEX ix_state_changes_submission_id ON state_changes (submission_id);

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
WHERE s.attempt = (SELECT max(latest.attempt) FROM submissions AS latest WHERE latest.experiment_id = s.experiment_id);

CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));
