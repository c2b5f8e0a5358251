"""Tables of the record, as users will query them with sqlite3 or pandas.

Times are UTC, stored naive (SQLite has no time zones). JSON columns are text
that SQLite's json_extract() reads. Job ids are text: Slurm prints array tasks
as `123_4`, and the processes backend stores pids.

The tables are plain SQLAlchemy Core, so that a launch and a report can write
and read them without importing the ORM (a tenth of a second); the ORM
classes in `models` map onto these same tables.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from pbt_tracker.store.plain import utcnow


metadata = MetaData()

# One call of the launcher: a run description expanded with one set of options.
launches = Table(
    "launches",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_name", String, nullable=False),
    Column("run_module", String, nullable=False),
    Column("backend", String, nullable=False),
    Column("workdir", String, nullable=False),
    Column("train_dir", String, nullable=False),
    Column("experiment_suffix", String, nullable=False, default=""),
    Column("options", JSON, nullable=False),
    Column("template_path", String),
    Column("template_text", Text),
    Column("print_only", Boolean, nullable=False, default=False),
    Column("hostname", String, nullable=False),
    Column("username", String, nullable=False),
    Column("pbt_track_version", String, nullable=False),
    Column("created_at", DateTime, nullable=False, default=utcnow),
    Column("cwd", String),  # relative train dirs and commands start here
    Column("uuid", String(32)),  # in every job's Slurm comment: pbt-track:UUID:SUBMISSION
)

# One generated experiment: a name and the exact command it runs.
experiments = Table(
    "experiments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("launch_id", Integer, ForeignKey("launches.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("name", String, nullable=False),
    Column("base_name", String, nullable=False),
    Column("cmd", Text, nullable=False),
    Column("params", JSON, nullable=False),
    Column("env_vars", JSON),
    Column("root_dir", String, nullable=False),
    Column("train_dir", String, nullable=False),
    UniqueConstraint("launch_id", "name", name="uq_experiments_launch_name"),
    Index("ix_experiments_name", "name"),
    Index("ix_experiments_base_name", "base_name"),
)

# The exact text of a generated job script, so it can be checked and rewritten later.
scripts = Table(
    "scripts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("experiment_id", Integer, ForeignKey("experiments.id", ondelete="CASCADE"), nullable=False),
    Column("path", String, nullable=False),
    Column("text", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False, default=utcnow),
    Index("ix_scripts_experiment_id", "experiment_id"),
)

# One attempt to run an experiment, written before the scheduler is asked.
submissions = Table(
    "submissions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("experiment_id", Integer, ForeignKey("experiments.id", ondelete="CASCADE"), nullable=False),
    Column("script_id", Integer, ForeignKey("scripts.id")),
    Column("attempt", Integer, nullable=False),
    Column("argv", JSON, nullable=False),
    Column("log_path", String),
    Column("state", String, nullable=False),
    Column("job_id", String),
    Column("cluster", String),
    Column("submit_returncode", Integer),
    Column("submit_stdout", Text),
    Column("submit_stderr", Text),
    Column("exit_code", Integer),
    Column("node", String),
    Column("started_at", DateTime),
    Column("ended_at", DateTime),
    Column("intended_at", DateTime, nullable=False, default=utcnow),
    Column("submitted_at", DateTime),
    Column("updated_at", DateTime, nullable=False, default=utcnow),
    Column("cancel_requested_at", DateTime),
    # Local processes: job_id is the pid; with its start time (clock ticks after boot) and host
    # a reused pid is not taken for ours. runner_* is the pbt-track process that starts it.
    Column("host", String),
    Column("process_start", Integer),
    Column("runner_pid", Integer),
    Column("runner_start", Integer),
    # The sbatch process, as older records noted it: now a running sbatch is found by the tag
    # on its command line, which saves a commit per job.
    Column("submit_pid", Integer),
    Column("submit_pid_start", Integer),
    # Sent as task `array_task` of a job array: the array's own sbatch is in slurm_arrays, while argv
    # stays the experiment's own sbatch command, the one a resubmission uses.
    Column("array_id", Integer, ForeignKey("slurm_arrays.id")),
    Column("array_task", Integer),
    UniqueConstraint("experiment_id", "attempt", name="uq_submissions_experiment_attempt"),
    Index("ix_submissions_job_id", "job_id"),
    Index("ix_submissions_state", "state"),
)

# One `sbatch --array` of a launch: its own script picks each task's recorded experiment script.
slurm_arrays = Table(
    "slurm_arrays",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("launch_id", Integer, ForeignKey("launches.id", ondelete="CASCADE"), nullable=False),
    Column("path", String, nullable=False),
    Column("text", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("argv", JSON, nullable=False),
    Column("task_count", Integer, nullable=False),
    Column("job_id", String),  # the array job id; task N is job_id_N
    Column("submit_returncode", Integer),
    Column("submit_stdout", Text),
    Column("submit_stderr", Text),
    Column("intended_at", DateTime, nullable=False, default=utcnow),
    Column("submitted_at", DateTime),
    Index("ix_slurm_arrays_launch_id", "launch_id"),
)

# Every state a submission went through, with when it was seen.
state_changes = Table(
    "state_changes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("submission_id", Integer, ForeignKey("submissions.id", ondelete="CASCADE"), nullable=False),
    Column("state", String, nullable=False),
    Column("observed_at", DateTime, nullable=False, default=utcnow),
    Column("detail", Text),
    Index("ix_state_changes_submission_id", "submission_id"),
)

# One cancel request: what was asked for, which jobs that meant, what scancel said.
cancellations = Table(
    "cancellations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("selection", JSON, nullable=False),
    Column("job_ids", JSON, nullable=False),
    Column("argv", JSON, nullable=False),
    Column("returncode", Integer),
    Column("stdout", Text),
    Column("stderr", Text),
    Column("requested_at", DateTime, nullable=False, default=utcnow),
    Column("completed_at", DateTime),
)
