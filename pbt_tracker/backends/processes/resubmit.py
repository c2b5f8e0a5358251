"""Resubmitting failed local experiments: each runs again here, in the foreground, under its launch's limits."""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Any

from pbt_tracker import processes
from pbt_tracker.backends.processes.launch import ProcessesExperiment, ProcessesJob, Runner, processes_attempt
from pbt_tracker.backends.resubmission import ResubmitRequest, ResubmitResult, check_launch_directory, decide
from pbt_tracker.errors import OptionError
from pbt_tracker.files import share_with_group
from pbt_tracker.launch.environment import as_launched
from pbt_tracker.pbt.starts import note_outcome
from pbt_tracker.store import Store, utcnow, writes
from pbt_tracker.store.next_attempts import PriorAttempt


class ProcessesResubmitter:
    def __init__(self, store: Store, request: ResubmitRequest, result: ResubmitResult) -> None:
        self.store, self.request, self.result = store, request, result
        self.launches: dict[int, tuple[dict[str, Any], list[ProcessesJob]]] = {}  # launch id -> its options, its jobs

    def plan(self, connection: sqlite3.Connection, row: PriorAttempt, attempt: int) -> None:
        """A queued attempt, its runner this process; a PBT policy's runs the continuation `decide` chose."""
        check_launch_directory(row.name, row.cwd)
        options = json.loads(row.options)
        check_training_python(row.name, options.get("python"))
        decision = decide(connection, row, self.request, self.result)
        self.result.planned.append((row.name, attempt))
        if self.request.dry_run:
            return
        argv = (processes.command_argv(decision.command, options.get("python")) if decision is not None
                else json.loads(row.argv))
        experiment = ProcessesExperiment(row.experiment_id, row.name, json.loads(row.env_vars or "null"),
                                         row.train_dir)
        job = processes_attempt(connection, experiment, attempt, argv, self.store.workdir, self.request.me,
                                cwd=row.cwd)
        writes.set_origin(connection, job.submission_id, self.request.origin, row.id)
        if decision is not None:
            note_outcome(connection, decision.pending, job.submission_id, utcnow())
        self.launches.setdefault(row.launch_id, (options, []))[1].append(job)

    def close(self, connection: sqlite3.Connection) -> None:
        """Nothing to refuse or group: each attempt is its own process."""

    def send(self) -> None:
        """Each launch's attempts run to their end, at most its max_parallel at a time, on its GPUs."""
        for options, jobs in self.launches.values():
            share_with_group(bool(options.get("group_readable")))  # the logs its attempts write
            runner = Runner(
                self.store, jobs, int(options.get("max_parallel") or 4), int(options.get("num_gpus") or 1),
                int(options.get("experiments_per_gpu") or -1), 0, self.request.echo,
                environment=as_launched(options.get("environment"), os.environ),
            )
            outcomes, interrupted = runner.run()
            self.result.processes_outcomes += outcomes
            self.result.interrupted = self.result.interrupted or interrupted


def check_training_python(name: str, python: str | None) -> None:
    """Refuse, before anything is recorded, an attempt whose launch's training interpreter is gone."""
    if python and not (os.path.isfile(python) and os.access(python, os.X_OK)):
        raise OptionError(
            f"{name} runs with {python}, the training interpreter its launch recorded, which is gone or not "
            "executable; restore it (or that environment), then send it again"
        )
