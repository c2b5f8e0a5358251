"""Tables of the record, as users will query them with sqlite3 or pandas.

Times are UTC, stored naive (SQLite has no time zones). JSON columns are text
that SQLite's json_extract() reads. Job ids are text: Slurm prints array tasks
as `123_4`, and the processes backend stores pids.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON}


class Launch(Base):
    """One call of the launcher: a run description expanded with one set of options."""

    __tablename__ = "launches"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_name: Mapped[str] = mapped_column(String)
    run_module: Mapped[str] = mapped_column(String)
    backend: Mapped[str] = mapped_column(String)
    workdir: Mapped[str] = mapped_column(String)
    train_dir: Mapped[str] = mapped_column(String)
    experiment_suffix: Mapped[str] = mapped_column(String, default="")
    options: Mapped[dict[str, Any]]
    template_path: Mapped[str | None] = mapped_column(String)
    template_text: Mapped[str | None] = mapped_column(Text)
    print_only: Mapped[bool] = mapped_column(default=False)
    hostname: Mapped[str] = mapped_column(String)
    username: Mapped[str] = mapped_column(String)
    pbt_track_version: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cwd: Mapped[str | None] = mapped_column(String)  # relative train dirs and commands start here
    uuid: Mapped[str | None] = mapped_column(String(32))  # in every job's Slurm comment: pbt-track:UUID:SUBMISSION

    experiments: Mapped[list[Experiment]] = relationship(
        back_populates="launch", order_by="Experiment.position"
    )


class Experiment(Base):
    """One generated experiment: a name and the exact command it runs."""

    __tablename__ = "experiments"
    __table_args__ = (
        UniqueConstraint("launch_id", "name", name="uq_experiments_launch_name"),
        Index("ix_experiments_name", "name"),
        Index("ix_experiments_base_name", "base_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    launch_id: Mapped[int] = mapped_column(ForeignKey("launches.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String)
    base_name: Mapped[str] = mapped_column(String)
    cmd: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, Any]]
    env_vars: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    root_dir: Mapped[str] = mapped_column(String)
    train_dir: Mapped[str] = mapped_column(String)

    launch: Mapped[Launch] = relationship(back_populates="experiments")
    scripts: Mapped[list[Script]] = relationship(back_populates="experiment", order_by="Script.id")
    submissions: Mapped[list[Submission]] = relationship(
        back_populates="experiment", order_by="Submission.attempt"
    )


class Script(Base):
    """The exact text of a generated job script, so it can be checked and rewritten later."""

    __tablename__ = "scripts"
    __table_args__ = (Index("ix_scripts_experiment_id", "experiment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(String)
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    experiment: Mapped[Experiment] = relationship(back_populates="scripts")


class Submission(Base):
    """One attempt to run an experiment, written before the scheduler is asked."""

    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("experiment_id", "attempt", name="uq_submissions_experiment_attempt"),
        Index("ix_submissions_job_id", "job_id"),
        Index("ix_submissions_state", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    script_id: Mapped[int | None] = mapped_column(ForeignKey("scripts.id"))
    attempt: Mapped[int] = mapped_column(Integer)
    argv: Mapped[list[str]]
    log_path: Mapped[str | None] = mapped_column(String)
    state: Mapped[str] = mapped_column(String)
    job_id: Mapped[str | None] = mapped_column(String)
    cluster: Mapped[str | None] = mapped_column(String)
    submit_returncode: Mapped[int | None] = mapped_column(Integer)
    submit_stdout: Mapped[str | None] = mapped_column(Text)
    submit_stderr: Mapped[str | None] = mapped_column(Text)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    node: Mapped[str | None] = mapped_column(String)
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    intended_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancel_requested_at: Mapped[datetime | None]
    # Local processes: job_id is the pid; with its start time (clock ticks after boot) and host
    # a reused pid is not taken for ours. runner_* is the pbt-track process that starts it.
    host: Mapped[str | None] = mapped_column(String)
    process_start: Mapped[int | None] = mapped_column(Integer)
    runner_pid: Mapped[int | None] = mapped_column(Integer)
    runner_start: Mapped[int | None] = mapped_column(Integer)
    # The sbatch process, as older records noted it: now a running sbatch is found by the tag
    # on its command line, which saves a commit per job.
    submit_pid: Mapped[int | None] = mapped_column(Integer)
    submit_pid_start: Mapped[int | None] = mapped_column(Integer)
    # Sent as task `array_task` of a job array: the array's own sbatch is in slurm_arrays, while argv
    # stays the experiment's own sbatch command, the one a resubmission uses.
    array_id: Mapped[int | None] = mapped_column(ForeignKey("slurm_arrays.id"))
    array_task: Mapped[int | None] = mapped_column(Integer)

    experiment: Mapped[Experiment] = relationship(back_populates="submissions")
    script: Mapped[Script | None] = relationship()
    state_changes: Mapped[list[StateChange]] = relationship(
        back_populates="submission", order_by="StateChange.id"
    )


class SlurmArray(Base):
    """One `sbatch --array` of a launch: its own script picks each task's recorded experiment script."""

    __tablename__ = "slurm_arrays"
    __table_args__ = (Index("ix_slurm_arrays_launch_id", "launch_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    launch_id: Mapped[int] = mapped_column(ForeignKey("launches.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(String)
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    argv: Mapped[list[str]]
    task_count: Mapped[int] = mapped_column(Integer)
    job_id: Mapped[str | None] = mapped_column(String)  # the array job id; task N is job_id_N
    submit_returncode: Mapped[int | None] = mapped_column(Integer)
    submit_stdout: Mapped[str | None] = mapped_column(Text)
    submit_stderr: Mapped[str | None] = mapped_column(Text)
    intended_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]


class StateChange(Base):
    """Every state a submission went through, with when it was seen."""

    __tablename__ = "state_changes"
    __table_args__ = (Index("ix_state_changes_submission_id", "submission_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String)
    observed_at: Mapped[datetime] = mapped_column(default=utcnow)
    detail: Mapped[str | None] = mapped_column(Text)

    submission: Mapped[Submission] = relationship(back_populates="state_changes")


class Cancellation(Base):
    """One cancel request: what was asked for, which jobs that meant, what scancel said."""

    __tablename__ = "cancellations"

    id: Mapped[int] = mapped_column(primary_key=True)
    selection: Mapped[dict[str, Any]]
    job_ids: Mapped[list[str]]
    argv: Mapped[list[str]]
    returncode: Mapped[int | None] = mapped_column(Integer)
    stdout: Mapped[str | None] = mapped_column(Text)
    stderr: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
