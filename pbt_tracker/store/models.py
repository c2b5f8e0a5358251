"""ORM classes over the tables of `tables`, for the commands that work with whole rows.

The annotations are for type checkers; the columns, their types and defaults
are those of the Core tables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import DeclarativeBase, Mapped, relationship

from pbt_tracker.store import tables
from pbt_tracker.store.tables import utcnow

__all__ = ["Base", "Cancellation", "Experiment", "Launch", "Script", "SlurmArray", "StateChange", "Submission",
           "utcnow"]


class Base(DeclarativeBase):
    metadata = tables.metadata


class Launch(Base):
    __table__ = tables.launches

    id: Mapped[int]
    run_name: Mapped[str]
    run_module: Mapped[str]
    backend: Mapped[str]
    workdir: Mapped[str]
    train_dir: Mapped[str]
    experiment_suffix: Mapped[str]
    options: Mapped[dict[str, Any]]
    template_path: Mapped[str | None]
    template_text: Mapped[str | None]
    print_only: Mapped[bool]
    hostname: Mapped[str]
    username: Mapped[str]
    pbt_track_version: Mapped[str]
    created_at: Mapped[datetime]
    cwd: Mapped[str | None]
    uuid: Mapped[str | None]

    experiments: Mapped[list[Experiment]] = relationship(back_populates="launch", order_by="Experiment.position")


class Experiment(Base):
    __table__ = tables.experiments

    id: Mapped[int]
    launch_id: Mapped[int]
    position: Mapped[int]
    name: Mapped[str]
    base_name: Mapped[str]
    cmd: Mapped[str]
    params: Mapped[dict[str, Any]]
    env_vars: Mapped[dict[str, Any] | None]
    root_dir: Mapped[str]
    train_dir: Mapped[str]

    launch: Mapped[Launch] = relationship(back_populates="experiments")
    scripts: Mapped[list[Script]] = relationship(back_populates="experiment", order_by="Script.id")
    submissions: Mapped[list[Submission]] = relationship(back_populates="experiment", order_by="Submission.attempt")


class Script(Base):
    __table__ = tables.scripts

    id: Mapped[int]
    experiment_id: Mapped[int]
    path: Mapped[str]
    text: Mapped[str]
    sha256: Mapped[str]
    created_at: Mapped[datetime]

    experiment: Mapped[Experiment] = relationship(back_populates="scripts")


class Submission(Base):
    __table__ = tables.submissions

    id: Mapped[int]
    experiment_id: Mapped[int]
    script_id: Mapped[int | None]
    attempt: Mapped[int]
    argv: Mapped[list[str]]
    log_path: Mapped[str | None]
    state: Mapped[str]
    job_id: Mapped[str | None]
    cluster: Mapped[str | None]
    submit_returncode: Mapped[int | None]
    submit_stdout: Mapped[str | None]
    submit_stderr: Mapped[str | None]
    exit_code: Mapped[int | None]
    node: Mapped[str | None]
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    intended_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    cancel_requested_at: Mapped[datetime | None]
    host: Mapped[str | None]
    process_start: Mapped[int | None]
    runner_pid: Mapped[int | None]
    runner_start: Mapped[int | None]
    submit_pid: Mapped[int | None]
    submit_pid_start: Mapped[int | None]
    array_id: Mapped[int | None]
    array_task: Mapped[int | None]

    experiment: Mapped[Experiment] = relationship(back_populates="submissions")
    script: Mapped[Script | None] = relationship()
    state_changes: Mapped[list[StateChange]] = relationship(back_populates="submission", order_by="StateChange.id")


class SlurmArray(Base):
    __table__ = tables.slurm_arrays

    id: Mapped[int]
    launch_id: Mapped[int]
    path: Mapped[str]
    text: Mapped[str]
    sha256: Mapped[str]
    argv: Mapped[list[str]]
    task_count: Mapped[int]
    job_id: Mapped[str | None]
    submit_returncode: Mapped[int | None]
    submit_stdout: Mapped[str | None]
    submit_stderr: Mapped[str | None]
    intended_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]


class StateChange(Base):
    __table__ = tables.state_changes

    id: Mapped[int]
    submission_id: Mapped[int]
    state: Mapped[str]
    observed_at: Mapped[datetime]
    detail: Mapped[str | None]

    submission: Mapped[Submission] = relationship(back_populates="state_changes")


class Cancellation(Base):
    __table__ = tables.cancellations

    id: Mapped[int]
    selection: Mapped[dict[str, Any]]
    job_ids: Mapped[list[str]]
    argv: Mapped[list[str]]
    returncode: Mapped[int | None]
    stdout: Mapped[str | None]
    stderr: Mapped[str | None]
    requested_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
