"""An NGC launch: one `ngc` command per experiment, each on record before it runs.

The whole launch is checked first (template, experiments, the `ngc` program),
then one transaction records the launch, its experiments and every intended
submission, its rendered command as argv, in SUBMITTING (or PRINT_ONLY).
Each call's answer is written as soon as it comes: what ngc printed, its exit
code, the job id it printed (`answers.run_job_id`), SUBMITTED or
SUBMIT_FAILED; SUBMIT_UNCERTAIN without the id if a live submission already
holds it (`store.sync.live_holders`). A failed call fails its own experiment only. An accepted job
whose id cannot be read stays SUBMITTED without one, said in one line: no
sync can follow it, and `forget --purge --unidentified-ended` is how a user
who has checked it ended lets its launch go.
"""

from __future__ import annotations

import json
import shlex
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pbt_tracker import commands, processes, states
from pbt_tracker.backends.ngc import NAME as NGC
from pbt_tracker.backends.ngc.answers import run_job_id
from pbt_tracker.backends.ngc.command import check_ngc_template, flatten_template, ngc_argv
from pbt_tracker.backends.ngc.options import NgcLaunchOptions
from pbt_tracker.errors import OptionError, SchedulerError, SchedulerTimeout
from pbt_tracker.files import read_template_text
from pbt_tracker.launch.record import (
    Echo,
    SubmittedJob,
    experiment_values,
    launch_values,
    quiet,
    refuse_live_experiments,
)
from pbt_tracker.launch.specs import checked_specs
from pbt_tracker.run_description import ExperimentSpec, RunDescription
from pbt_tracker.store import Store, open_store, utcnow, writes
from pbt_tracker.store.new_rows import NewSubmission, insert
from pbt_tracker.store.run_values import UNSET, RunValues
from pbt_tracker.store.sync import live_holder

if TYPE_CHECKING:
    import sqlite3

    from pbt_tracker.store.next_attempts import PriorAttempt

NGC_NOT_FOUND = "ngc was not found on PATH; install the NGC CLI, or use --ngc_print_only true"


@dataclass(frozen=True)
class NgcPlan:
    """A launch worked out in full, before anything touches the disk or NGC."""

    run_description: RunDescription
    options: NgcLaunchOptions
    template_text: str
    specs: list[ExperimentSpec]
    argvs: list[list[str]]
    warnings: list[str]

    @property
    def flat_template(self) -> str:
        return flatten_template(self.template_text)


@dataclass
class NgcResult:
    launch_id: int
    db_path: Path
    print_only: bool
    jobs: list[SubmittedJob]

    @property
    def failed(self) -> list[SubmittedJob]:
        return [job for job in self.jobs if job.error]


def read_job_template(path: str | None) -> str:
    if path is None:
        raise OptionError("the NGC backend needs a job template; pass --ngc_job_template FILE")
    return read_template_text(path, "NGC job template", "--ngc_job_template", "the ngc command line as text")


def require_ngc() -> None:
    if shutil.which("ngc") is None:
        raise SchedulerError(NGC_NOT_FOUND)


def plan_ngc_launch(run_description: RunDescription, options: NgcLaunchOptions) -> NgcPlan:
    text = read_job_template(options.job_template)
    source = f"NGC job template {options.job_template}"
    warnings = check_ngc_template(text, source)
    specs = checked_specs(run_description, options.train_dir)
    argvs = [ngc_argv(text, spec.name, spec.cmd, source) for spec in specs]
    return NgcPlan(run_description, options, text, specs, argvs, warnings)


def submit_ngc_launch(plan: NgcPlan, echo: Echo = quiet) -> NgcResult:
    """Record the plan, then run its commands one by one (print them only, with --ngc_print_only)."""
    options = plan.options
    if not options.print_only:
        require_ngc()
    store = open_store(options.workdir)
    try:
        launch_id, submission_ids = _record_launch(store, plan)
        named = [(submission_id, spec.name, argv)
                 for submission_id, spec, argv in zip(submission_ids, plan.specs, plan.argvs)]
        if options.print_only:
            jobs = [_show(echo, name, argv) for _submission_id, name, argv in named]
        else:
            jobs = send_commands(store, named, echo, options.pause_between)
        return NgcResult(launch_id, store.path, options.print_only, jobs)
    finally:
        store.close()


def _show(echo: Echo, name: str, argv: list[str], preview: bool = True) -> SubmittedJob:
    echo(f"Job name: {name}")
    echo(f"{'Would run' if preview else 'Executing'} {shlex.join(argv)}")
    return SubmittedJob(name, argv, None, None)


def send_commands(store: Store, jobs: list[tuple[int, str, list[str]]], echo: Echo,
                  pause_between: float) -> list[SubmittedJob]:
    """Run each recorded (submission id, experiment, argv) and write its answer before the next one runs."""
    sent = []
    for index, (submission_id, name, argv) in enumerate(jobs):
        _show(echo, name, argv, preview=False)
        sent.append(_send(store, submission_id, argv, name, echo))
        if pause_between > 0 and index + 1 < len(jobs):
            time.sleep(pause_between)
    return sent


def _send(store: Store, submission_id: int, argv: list[str], name: str, echo: Echo) -> SubmittedJob:
    values = RunValues()
    message: str | None
    try:
        result = commands.run_command(argv)
    except SchedulerTimeout as error:  # the job may exist: NGC alone can say
        state = states.SUBMIT_UNCERTAIN
        message = f"{error}; whether the job exists only NGC can say (`ngc batch list`)"
    except SchedulerError as error:
        state, message = states.SUBMIT_FAILED, f"ngc could not be run: {error}; check the NGC CLI"
    else:
        values = RunValues(submit_returncode=result.returncode, submit_stdout=result.stdout,
                           submit_stderr=result.stderr)
        if result.returncode == 0:
            state, message = states.SUBMITTED, None
            values = values._replace(job_id=run_job_id(result.stdout))
        else:
            state, message = states.SUBMIT_FAILED, _failure(result.returncode, result.stderr or result.stdout)
    now = utcnow()
    with store.write() as connection:
        if isinstance(values.job_id, str):
            holder = live_holder(connection, NGC, values.job_id)
            if holder is not None:  # two live submissions with one id would share their states and their kill
                state, message = states.SUBMIT_UNCERTAIN, holder.refusal(values.job_id, "ngc answered")
                values = values._replace(job_id=UNSET, submit_stderr=values.submit_stderr or message)
        if state == states.SUBMITTED:
            values = values._replace(submitted_at=now)
        elif values.submit_stderr is UNSET:
            values = values._replace(submit_stderr=message)
        writes.change_state(connection, submission_id, states.SUBMITTING, state, now, message, values)
    if state == states.SUBMIT_UNCERTAIN:
        echo(f"{name} may have been submitted ({message})")
    elif message:
        echo(f"ngc failed for {name}: {message}")
    elif values.job_id is None:
        echo(f"ngc accepted {name} but printed no job id pbt-track can read; it stays SUBMITTED and is not followed "
             f"(add --format_type json to the job template)")
    return SubmittedJob(name, argv, values.job_id if isinstance(values.job_id, str) else None, message,
                        uncertain=state == states.SUBMIT_UNCERTAIN)


def _failure(returncode: int, output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return f"ngc exited with {returncode}" + (f": {lines[-1]}" if lines else " and printed nothing")


def _record_launch(store: Store, plan: NgcPlan) -> tuple[int, list[int]]:
    """One transaction for the launch, its experiments and every intended submission."""
    options = plan.options
    first_state = states.PRINT_ONLY if options.print_only else states.SUBMITTING
    now = utcnow()
    me = processes.this_process()
    template_path = str(Path(options.job_template).absolute()) if options.job_template else None
    launch = launch_values(
        store.workdir, plan.run_description, backend=NGC, run_module=options.run_module,
        train_dir=options.train_dir, experiment_suffix=options.experiment_suffix,
        recorded_options=options.recorded_options, template_path=template_path,
        template_text=plan.template_text, print_only=options.print_only,
    )
    submission_ids = []
    with store.write() as connection:
        if not options.print_only:
            refuse_live_experiments(connection, plan.specs)
        launch_id = insert(connection, launch)
        for position, (spec, argv) in enumerate(zip(plan.specs, plan.argvs)):
            experiment_id = insert(connection, experiment_values(launch_id, position, spec))
            submission_id = insert(connection, NewSubmission(
                experiment_id=experiment_id, attempt=1, argv=argv, state=first_state, intended_at=now,
                updated_at=now, host=me.host, runner_pid=me.pid, runner_start=me.start, origin="launch",
            ))
            writes.add_state_change(connection, submission_id, first_state, now, None)
            submission_ids.append(submission_id)
    return launch_id, submission_ids


def record_next_attempt(connection: sqlite3.Connection, row: PriorAttempt, attempt: int,
                        me: processes.ProcessId, origin: str = "resubmit") -> tuple[int, str, list[str]]:
    """A failed NGC submission's next attempt, its recorded command as it was, in SUBMITTING.

    Written inside resubmit-failed's transaction, as every next attempt is.
    """
    argv = json.loads(row.argv)
    now = utcnow()
    submission_id = insert(connection, NewSubmission(
        experiment_id=row.experiment_id, attempt=attempt, argv=argv, state=states.SUBMITTING, intended_at=now,
        updated_at=now, host=me.host, runner_pid=me.pid, runner_start=me.start, origin=origin,
        parent_submission_id=row.id,
    ))
    writes.add_state_change(connection, submission_id, states.SUBMITTING, now, origin)
    return submission_id, row.name, argv
