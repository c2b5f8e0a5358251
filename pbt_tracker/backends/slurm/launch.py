"""A Slurm launch: record its plan (`launch_plan`), then submit it.

Everything a launch will do is checked before anything is written, so bad
input leaves the workdir as it was. Then each row goes in before the side
effect it describes: the launch and every intended submission are committed
in one transaction before the first sbatch runs, and sbatch's answers follow
within a quarter of a second. A crash in between leaves submissions in
SUBMITTING, visible, whose jobs sync finds by the tag each sbatch carries,
rather than jobs nobody knows about.

A launch writes through the standard library's sqlite3, like every command:
SQLAlchemy's import alone would cost it as much as forty sbatch calls.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pbt_tracker import processes, states
from pbt_tracker.backends.slurm import NAME as SLURM
from pbt_tracker.backends.slurm import commands as slurm
from pbt_tracker.backends.slurm.answers import Answers, send_array
from pbt_tracker.backends.slurm.claim import make_claim_file
from pbt_tracker.backends.slurm.launch_plan import SlurmPlan, named_for_launch
from pbt_tracker.backends.slurm.scancel_sh import write_scancel_script
from pbt_tracker.backends.slurm.tags import array_tag, submission_tag, with_tag
from pbt_tracker.errors import StoreError
from pbt_tracker.files import make_dirs, write_text_atomic
from pbt_tracker.launch.record import (
    Echo,
    SubmittedJob,
    experiment_values,
    launch_values,
    quiet,
    refuse_live_experiments,
    sha256_text,
)
from pbt_tracker.store import Store, open_store, queries, utcnow, writes
from pbt_tracker.store.new_rows import (
    NewScript,
    NewSlurmArray,
    NewSubmission,
    first_ids,
    insert,
    insert_numbered,
)


@dataclass
class LaunchResult:
    launch_id: int
    workdir: Path
    db_path: Path
    print_only: bool
    jobs: list[SubmittedJob]

    @property
    def job_ids(self) -> list[str]:
        return [job.job_id for job in self.jobs if job.job_id]

    @property
    def cancel_ids(self) -> list[str]:
        """What scancel needs to stop the whole launch: an array once, by its job id (task 4242_3 is in 4242)."""
        return list(dict.fromkeys(job_id.partition("_")[0] for job_id in self.job_ids))

    @property
    def failed(self) -> list[SubmittedJob]:
        return [job for job in self.jobs if job.error]


def submit_slurm_launch(plan: SlurmPlan, echo: Echo = quiet,
                        progress: Callable[[int, int], None] | None = None) -> LaunchResult:
    """Record the plan, write its scripts, and sbatch them: one by one, or as arrays.

    A refused or failed sbatch is recorded with what it printed and the
    launch goes on with the next experiment (or array). `progress(sent, total)` is
    called before each sbatch and after the last; it may raise KeyboardInterrupt
    to stop between two sbatch calls.
    """
    options = plan.options
    if not options.print_only:
        slurm.require_command("sbatch")
    store = open_store(options.workdir)
    try:
        plan, launch_id, submissions, arrays = _record_launch(store, plan)
        _make_train_dirs(plan)
        if plan.arrays:
            jobs = _submit_arrays(store, plan, submissions, arrays, echo)
        else:
            jobs = _submit_one_by_one(store, plan, submissions, echo, progress or (lambda sent, total: None))
        write_scancel_script(store)
        return LaunchResult(launch_id, store.workdir, store.path, options.print_only, jobs)
    finally:
        store.close()


def _submit_one_by_one(
    store: Store, plan: SlurmPlan, submissions: list[tuple[int, list[str]]], echo: Echo,
    progress: Callable[[int, int], None],
) -> list[SubmittedJob]:
    """Every script first, then the sbatch calls, as the original launcher does.

    A script that cannot be written fails its own experiment only.
    """
    options = plan.options
    answers = Answers(store, echo)
    try:
        return _write_and_send(plan, submissions, answers, echo, progress)
    except StoreError as error:
        if options.print_only:
            raise
        raise StoreError(stopped_launch_message(
            store.workdir, answers.job_ids, answers.sbatch_calls, len(plan.jobs), str(error))) from None


def _write_and_send(
    plan: SlurmPlan, submissions: list[tuple[int, list[str]]], answers: Answers, echo: Echo,
    progress: Callable[[int, int], None],
) -> list[SubmittedJob]:
    options = plan.options
    unwritten = {}
    for job in plan.jobs:
        try:
            write_text_atomic(job.script_path, job.script_text)
        except OSError as error:
            unwritten[job.script_path] = f"cannot write {job.script_path}: {error.strerror}"
    jobs = []
    try:
        for index, (job, (submission_id, argv)) in enumerate(zip(plan.jobs, submissions)):
            progress(index, len(plan.jobs))
            echo(f"{'Would run' if options.print_only else 'Executing'} {shlex.join(argv)}")
            if job.script_path in unwritten:
                jobs.append(answers.failed(submission_id, job.spec.name, argv, unwritten[job.script_path]))
                continue
            if options.print_only:
                jobs.append(SubmittedJob(job.spec.name, argv, None, None))
                continue
            jobs.append(answers.add(submission_id, job.spec.name, argv, slurm.submit(argv)))
            if options.pause_between > 0 and index + 1 < len(plan.jobs):
                answers.flush()
                time.sleep(options.pause_between)
        progress(len(plan.jobs), len(plan.jobs))
    finally:
        answers.flush()
    return jobs


def _submit_arrays(
    store: Store, plan: SlurmPlan, submissions: list[tuple[int, list[str]]],
    arrays: list[tuple[int, list[str]]], echo: Echo,
) -> list[SubmittedJob]:
    """One sbatch per array; every task's experiment script is on disk before its array goes out."""
    options = plan.options
    jobs: dict[int, SubmittedJob] = {}
    for index, (array, (array_id, argv)) in enumerate(zip(plan.arrays, arrays)):
        names = [plan.jobs[position].spec.name for position in array.positions]
        files = [(plan.jobs[position].script_path, plan.jobs[position].script_text) for position in array.positions]
        sent = send_array(store, array_id, argv, names, [*files, (array.script_path, array.script_text)], echo,
                          print_only=options.print_only)
        jobs.update(zip(array.positions, sent))
        if options.pause_between > 0 and index + 1 < len(plan.arrays) and not options.print_only:
            time.sleep(options.pause_between)
    return [jobs[position] for position in sorted(jobs)]


def _record_launch(
    store: Store, plan: SlurmPlan
) -> tuple[SlurmPlan, int, list[tuple[int, list[str]]], list[tuple[int, list[str]]]]:
    """One transaction for every intent; each real sbatch's argv carries its tag; the plan as named for the record.

    Scripts are named in the same transaction, so that two launches at once
    cannot both take one file.

    Rows go in as bulk inserts with ids chosen here: the transaction holds the
    write lock from its first statement, so nobody else can take them, and a
    launch of thousands of experiments costs milliseconds rather than seconds.
    In array mode a submission's argv stays the experiment's own sbatch
    command (what a resubmission sends); the array's is in slurm_arrays.
    """
    options = plan.options
    first_state = states.PRINT_ONLY if options.print_only else states.SUBMITTING
    now = utcnow()
    me = processes.this_process()
    launch = launch_values(
        store.workdir, plan.run_description, backend=SLURM, run_module=options.run_module,
        train_dir=options.train_dir, experiment_suffix=options.experiment_suffix,
        recorded_options=options.recorded_options,
        template_path=str(Path(options.template_path).absolute()) if options.template_path else None,
        template_text=plan.template_text, print_only=options.print_only, launch_uuid=plan.launch_uuid,
    )
    with store.write() as connection:
        if not options.print_only:
            refuse_live_experiments(connection, [job.spec for job in plan.jobs])
        launch_id = insert(connection, launch)
        plan = named_for_launch(plan, queries.held_paths(connection, [str(job.script_path) for job in plan.jobs]),
                                launch_id)
        first = first_ids(connection)
        array_rows, planned_arrays = [], []
        task_of: dict[int, tuple[int, int]] = {}
        array_id: int | None
        for number, array in enumerate(plan.arrays):
            array_id = first.slurm_array + number
            argv = array.argv if options.print_only else with_tag(array.argv, array_tag(plan.launch_uuid, array_id))
            array_rows.append(NewSlurmArray(
                launch_id=launch_id, path=str(array.script_path), text=array.script_text,
                sha256=sha256_text(array.script_text), argv=argv, task_count=len(array.positions), intended_at=now,
            ))
            planned_arrays.append((array_id, argv))
            task_of.update((position, (array_id, task)) for task, position in enumerate(array.positions))
        experiments, scripts, submissions, planned = [], [], [], []
        for position, job in enumerate(plan.jobs):
            experiment_id = first.experiment + position
            script_id = first.script + position
            submission_id = first.submission + position
            array_id, array_task = task_of.get(position, (None, None))
            untagged = options.print_only or array_id is not None  # an array's tag is on the array
            argv = job.argv if untagged else with_tag(job.argv, submission_tag(plan.launch_uuid, submission_id))
            experiments.append(experiment_values(launch_id, position, job.spec))
            scripts.append(NewScript(experiment_id=experiment_id, path=str(job.script_path), text=job.script_text,
                                     sha256=sha256_text(job.script_text), created_at=now))
            submissions.append(NewSubmission(
                experiment_id=experiment_id, script_id=script_id, attempt=1, argv=argv, log_path=job.log_path,
                state=first_state, intended_at=now, updated_at=now, host=me.host, runner_pid=me.pid,
                runner_start=me.start, array_id=array_id, array_task=array_task, origin="launch",
            ))
            planned.append((submission_id, argv))
        insert_numbered(connection, array_rows, first.slurm_array)
        insert_numbered(connection, experiments, first.experiment)
        insert_numbered(connection, scripts, first.script)
        insert_numbered(connection, submissions, first.submission)
        writes.add_state_changes(connection, [submission_id for submission_id, _argv in planned], first_state, now)
        return plan, launch_id, planned, planned_arrays


def _make_train_dirs(plan: SlurmPlan) -> None:
    """Create experiment dirs as the original launcher does, and each job's claim file; a failure is not worth
    losing a launch (a job whose claim file is missing says so and does not run)."""
    for train_dir in {job.spec.train_dir for job in plan.jobs}:
        try:
            make_dirs(train_dir)
        except OSError:
            pass
    for job in plan.jobs:
        try:
            make_claim_file(job.claim_file)
        except OSError:
            pass


# When the record stops being writable in the middle of a launch, some jobs are in Slurm and every
# intent is on record, each sbatch carrying its tag: launching again would queue the sent jobs twice,
# while `sync` finds them by their tags and `resubmit-failed` then sends exactly the others.
def stopped_launch_message(workdir: Path, job_ids: list[str], calls: int, total: int, cause: str) -> str:
    """One line: what went wrong, what reached Slurm, and the recovery that queues nothing twice."""
    reached = f"job(s) {' '.join(job_ids)} reached Slurm" if job_ids else "no job id was returned"
    where = shlex.quote(str(workdir))
    return (
        f"the launch stopped after {calls} of {total} sbatch call(s), because the record could not be written "
        f"({cause.split(';')[0]}); {reached}. Do not launch again, that would queue them twice: once the "
        f"database is writable, run `pbt-track sync --workdir {where}` (it finds the sent jobs by their tags), "
        f"then `pbt-track resubmit-failed --workdir {where}` for the experiments not sent"
    )
