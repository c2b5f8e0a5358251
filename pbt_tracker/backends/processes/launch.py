"""The processes backend: experiments as local processes, recorded like Slurm jobs.

The runner is the launcher's own loop: it keeps at most max_parallel
experiments going, assigns GPUs the way the original launcher does, and
records every start and end. Each experiment runs under a small keeper
(pbt_tracker.launcher.process_job) in a process group of its own, so that
`pbt-track cancel` from another shell can stop it, and so that how it ended
is known even if the runner was killed meanwhile.
"""

from __future__ import annotations

import os
import sqlite3
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pbt_tracker import processes, states
from pbt_tracker.backends.processes import NAME as PROCESSES
from pbt_tracker.backends.processes.end import EXIT_DIR, ended_state, record_end
from pbt_tracker.backends.processes.options import ProcessesLaunchOptions
from pbt_tracker.files import make_dirs
from pbt_tracker.launch.record import Echo, experiment_values, launch_values, quiet, refuse_live_experiments
from pbt_tracker.launch.specs import checked_specs
from pbt_tracker.process_wait import Interrupts
from pbt_tracker.processes import ProcessId
from pbt_tracker.run_description import ExperimentSpec, RunDescription
from pbt_tracker.store import Store, open_store, queries, utcnow, writes
from pbt_tracker.store.new_rows import NewSubmission, insert


@dataclass(frozen=True)
class ProcessesJob:
    submission_id: int
    experiment: str
    argv: list[str]
    env_vars: dict[str, Any] | None
    train_dir: str
    log_path: Path
    exit_file: Path
    cwd: str | None = None  # where it runs: its launch's directory, whoever resubmits it from wherever


@dataclass
class ProcessesOutcome:
    experiment: str
    state: str
    exit_code: int | None
    pid: int | None


@dataclass
class ProcessesRunResult:
    launch_id: int | None
    workdir: Path
    db_path: Path
    outcomes: list[ProcessesOutcome]
    interrupted: bool = False

    @property
    def failed(self) -> list[ProcessesOutcome]:
        return [o for o in self.outcomes if o.state != states.COMPLETED]


def plan_processes_launch(
    run_description: RunDescription, options: ProcessesLaunchOptions
) -> list[tuple[ExperimentSpec, list[str]]]:
    return [(spec, processes.command_argv(spec.cmd, options.python))
            for spec in checked_specs(run_description, options.train_dir)]


def log_path(workdir: Path, experiment: str, attempt: int) -> Path:
    return workdir / f"{experiment}.{attempt}.log"


def run_processes_launch(
    run_description: RunDescription,
    options: ProcessesLaunchOptions,
    planned: list[tuple[ExperimentSpec, list[str]]],
    echo: Echo = quiet,
) -> ProcessesRunResult:
    store = open_store(options.workdir)
    try:
        launch_id, jobs = _record_launch(store, run_description, options, planned)
        runner = Runner(store, jobs, options.max_parallel, options.num_gpus, options.experiments_per_gpu,
                        options.pause_between, echo)
        outcomes, interrupted = runner.run()
        return ProcessesRunResult(launch_id, store.workdir, store.path, outcomes, interrupted)
    finally:
        store.close()


def _record_launch(
    store: Store, run_description: RunDescription, options: ProcessesLaunchOptions,
    planned: list[tuple[ExperimentSpec, list[str]]],
) -> tuple[int, list[ProcessesJob]]:
    now = utcnow()
    me = processes.this_process()
    launch = launch_values(
        store.workdir, run_description, backend=PROCESSES, run_module=options.run_module,
        train_dir=options.train_dir, experiment_suffix=options.experiment_suffix,
        recorded_options=options.recorded_options, template_path=None, template_text=None, print_only=False,
    )
    jobs = []
    with store.write() as connection:
        refuse_live_experiments(connection, [spec for spec, _argv in planned])
        launch_id = insert(connection, launch)
        for position, (spec, argv) in enumerate(planned):
            values = experiment_values(launch_id, position, spec)
            experiment_id = insert(connection, values)
            experiment = ProcessesExperiment(experiment_id, spec.name, values.env_vars, spec.train_dir)
            jobs.append(processes_attempt(connection, experiment, 1, argv, store.workdir, me, now))
    return launch_id, jobs


@dataclass(frozen=True)
class ProcessesExperiment:
    """What a local attempt needs to know of its experiment."""

    id: int
    name: str
    env_vars: dict[str, Any] | None
    train_dir: str


def processes_attempt(
    connection: sqlite3.Connection, experiment: ProcessesExperiment, attempt: int, argv: list[str], workdir: Path,
    me: ProcessId, now: datetime | None = None, cwd: str | None = None,
) -> ProcessesJob:
    """Record a queued attempt of a local experiment, owned by the runner `me`, in the caller's transaction."""
    now = now or utcnow()
    log = log_path(workdir, experiment.name, attempt)
    if queries.log_path_taken(connection, str(log)):  # an earlier launch's experiment of the same name wrote it
        log = workdir / f"{experiment.name}.{attempt}.e{experiment.id}.log"
    submission_id = insert(connection, NewSubmission(
        experiment_id=experiment.id, attempt=attempt, argv=argv, log_path=str(log), state=states.PENDING,
        intended_at=now, updated_at=now, host=me.host, runner_pid=me.pid, runner_start=me.start, origin="launch",
    ))
    writes.add_state_change(connection, submission_id, states.PENDING, now, "queued locally")
    return ProcessesJob(submission_id, experiment.name, argv, experiment.env_vars, experiment.train_dir, log,
                        workdir / EXIT_DIR / str(submission_id), cwd)


class Runner:
    """Starts queued experiments as slots free up, and records what becomes of them."""

    def __init__(
        self, store: Store, jobs: list[ProcessesJob], max_parallel: int, num_gpus: int, experiments_per_gpu: int,
        pause_between: float, echo: Echo = quiet, environment: dict[str, str] | None = None,
    ) -> None:
        self.store = store
        self.environment = environment  # the launch's (launch.environment.as_launched); None: this process's
        self.pending = deque(jobs)
        self.max_parallel = max_parallel
        self.experiments_per_gpu = experiments_per_gpu
        self.gpu_load = {gpu: 0 for gpu in range(max(num_gpus, 0))}
        self.pause_between = pause_between
        self.echo = echo
        self.running: dict[int, tuple[ProcessesJob, Any, int | None]] = {}
        self.outcomes: list[ProcessesOutcome] = []

    def run(self) -> tuple[list[ProcessesOutcome], bool]:
        """Run everything queued; on Ctrl-C or SIGTERM stop it all and return with `interrupted`.

        The signals only raise a flag, looked at between steps: an interrupt
        in the middle of starting or reaping an experiment would leave it
        started but unrecorded, or ended but still RUNNING on record.
        """
        make_dirs(self.store.workdir / EXIT_DIR)
        with Interrupts() as interrupted:
            while (self.pending or self.running) and not interrupted:
                while self.pending and self._has_room() and not interrupted:
                    self._start(self.pending.popleft())
                    if self.pending and self._has_room() and self.pause_between > 0:
                        interrupted.wait([], self.pause_between)
                self._reap()
                if self.running and not (self.pending and self._has_room()):
                    interrupted.wait([process.pid for _job, process, _gpu in self.running.values()])
            if interrupted:
                self._stop_all()
                return self.outcomes, True
        return self.outcomes, False

    def _has_room(self) -> bool:
        if len(self.running) >= self.max_parallel:
            return False
        return self.experiments_per_gpu <= 0 or self._least_busy_gpu() is not None

    def _least_busy_gpu(self) -> int | None:
        free = {gpu: self.experiments_per_gpu - load for gpu, load in self.gpu_load.items()}
        gpu = max(free, key=lambda g: (free[g], -g), default=None)
        return gpu if gpu is not None and free[gpu] > 0 else None

    def _start(self, job: ProcessesJob) -> None:
        with self.store.read() as connection:
            if queries.submission(connection, job.submission_id)["state"] != states.PENDING:
                self.echo(f"Not starting {job.experiment}: it was cancelled")
                return
        env = dict(os.environ if self.environment is None else self.environment)
        gpu = self._least_busy_gpu() if self.experiments_per_gpu > 0 else None
        if gpu is not None:
            env["CUDA_VISIBLE_DEVICES"] = str(gpu)
            self.gpu_load[gpu] += 1
        for key, value in (job.env_vars or {}).items():
            env[str(key)] = str(value)
        make_dirs(job.train_dir)
        job.exit_file.unlink(missing_ok=True)
        try:
            process = processes.spawn(job.argv, job.log_path, env, job.exit_file, job.cwd)
        except OSError as error:
            self._finish(job, states.SUBMIT_FAILED, None, f"cannot start: {error.strerror}")
            if gpu is not None:
                self.gpu_load[gpu] -= 1
            return
        started = processes.start_ticks(process.pid)
        now = utcnow()
        here = processes.hostname()
        with self.store.write() as connection:
            writes.change_state(
                connection, job.submission_id, None, states.RUNNING, now,
                f"pid {process.pid}" + (f", GPU {gpu}" if gpu is not None else ""),
                job_id=str(process.pid), process_start=started, node=here, host=here, submitted_at=now,
                started_at=now,
            )
        self.running[job.submission_id] = (job, process, gpu)
        self.echo(f"Started {job.experiment} (pid {process.pid}" + (f", GPU {gpu})" if gpu is not None else ")"))

    def _reap(self) -> None:
        for submission_id, (job, process, gpu) in list(self.running.items()):
            keeper_code = process.poll()
            if keeper_code is None:
                continue
            del self.running[submission_id]
            if gpu is not None:
                self.gpu_load[gpu] -= 1
            code = processes.read_exit_file(job.exit_file)
            self._finish(job, None, code if code is not None else keeper_code, None, pid=process.pid)

    def _finish(self, job: ProcessesJob, state: str | None, code: int | None, detail: str | None,
                pid: int | None = None) -> None:
        with self.store.write() as connection:
            submission = queries.submission(connection, job.submission_id)
            final = state or ended_state(submission, code)
            record_end(connection, submission, final, code, detail)
        self.outcomes.append(ProcessesOutcome(job.experiment, final, code, pid))
        shown = None if code is None else str(code) if code >= 0 else f"0:{-code}"  # a signal, as Slurm shows one
        self.echo(f"Process finished {job.experiment}: {final}" + (f" (exit code {shown})" if shown else ""))

    def _stop_all(self) -> None:
        """Ctrl-C: stop every experiment this runner started, and start no more."""
        with self.store.write() as connection:
            writes.request_cancel(connection, [*self.running, *(job.submission_id for job in self.pending)], utcnow())
        processes.terminate_groups(
            [ProcessId(process.pid, processes.start_ticks(process.pid), processes.hostname())
             for _job, process, _gpu in self.running.values()]
        )
        for _job, process, _gpu in self.running.values():
            process.wait()
        self._reap_stopped()
        for job in self.pending:
            self._finish(job, states.CANCELLED, None, "launcher interrupted before starting it")
        self.pending.clear()

    def _reap_stopped(self) -> None:
        for _submission_id, (job, process, _gpu) in list(self.running.items()):
            code = processes.read_exit_file(job.exit_file)
            self._finish(job, states.CANCELLED, code if code is not None else process.returncode, "launcher interrupted")
        self.running.clear()
