"""A running job's own continuation: what the time-limit template asks for once `timeout` stopped its experiment.

The job submits its successor itself, because only it knows the moment its
experiment stopped; but the successor is recorded first, as attempt n+1 with
origin 'continue' and this job's attempt as its parent, exactly as
`resubmit-failed` records one (a PBT policy resumes from its latest own
checkpoint in a new script; any other experiment sends its script again).
So a chain of time-limited jobs is in the record link by link, and a job
that asks twice (a requeued one) gets the attempt it already has.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from pbt_tracker import backends, processes, states
from pbt_tracker.backends.resubmission import policy_decision
from pbt_tracker.backends.slurm import commands as slurm
from pbt_tracker.backends.slurm.answers import Answers
from pbt_tracker.backends.slurm.continuation import is_continuation_script, record_continuation
from pbt_tracker.backends.slurm.resources import attempt_setup
from pbt_tracker.backends.slurm.resubmit import check_not_moved
from pbt_tracker.backends.slurm.scancel_sh import write_scancel_script
from pbt_tracker.backends.slurm.tags import submission_tag, with_tag
from pbt_tracker.errors import OptionError
from pbt_tracker.files import make_dirs, write_text_atomic
from pbt_tracker.launch.record import Echo, quiet
from pbt_tracker.pbt.resume import ResumeDecision
from pbt_tracker.pbt.starts import note_outcome
from pbt_tracker.store import Store, queries, utcnow, writes
from pbt_tracker.store.new_rows import NewSubmission, insert
from pbt_tracker.store.next_attempts import PriorAttempt, continuation_of, live_submissions, prior_attempts
from pbt_tracker.store.selection import Selection

__all__ = ["ContinueResult", "continue_job"]


@dataclass(frozen=True)
class ContinueResult:
    experiment: str
    attempt: int
    job_id: str | None
    error: str | None = None
    decision: ResumeDecision | None = None
    already: bool = False  # recorded by an earlier call for the same job
    uncertain: bool = False  # sbatch's answer was lost: the continuation may have been submitted


def continue_job(store: Store, job_id: str, echo: Echo = quiet) -> ContinueResult:
    """Record, then submit, the continuation of the experiment that job `job_id` runs; scancel.sh then lists it."""
    result = _continue(store, job_id, echo)
    if not result.already:
        write_scancel_script(store)
    return result


def _continue(store: Store, job_id: str, echo: Echo) -> ContinueResult:
    with store.write() as connection:
        rows = prior_attempts(connection, Selection(job_ids=(job_id,), all_attempts=True, all_launches=True))
        if not rows:
            raise OptionError(f"job {job_id} was not submitted from this workdir; "
                              "give the --workdir whose record holds it")
        row = rows[-1]
        earlier = continuation_of(connection, row.id)
        if earlier is not None:
            return ContinueResult(row.name, earlier.attempt, earlier.job_id, already=True)
        if not backends.get(row.backend).runs_sbatch_scripts or row.script_id is None:
            raise OptionError(f"job {job_id} ({row.name}) is not a Slurm job with a recorded script; "
                              "only those can continue themselves")
        latest = queries.latest_attempt(connection, row.experiment_id)
        if latest != row.attempt:
            raise OptionError(f"job {job_id} ran attempt {row.attempt} of {row.name}, but attempt {latest} "
                              "came after it; it continues nothing (`pbt-track report` shows the attempts)")
        live = live_submissions(connection, [row.name])
        if row.name in live and live[row.name].job_id != job_id:
            other = live[row.name].job_id or "a submission"
            raise OptionError(f"{row.name} has {other} of launch {live[row.name].launch_id} that may still run, "
                              f"so job {job_id} does not continue it; cancel that first")
        check_not_moved(Path(row.launch_workdir), store.workdir)
        slurm.require_command("sbatch")
        attempt = row.attempt + 1
        me = processes.this_process()
        decision = policy_decision(connection, row.experiment_id, row.cmd, row.params, row.train_dir, row.cwd)
        if decision is not None and (decision.continues or is_continuation_script(store.workdir, row.script_path)):
            recorded = record_continuation(connection, store.workdir, row, attempt, decision, me, origin="continue",
                                           setup=attempt_setup(row, {}))  # what an earlier resubmit changed stays
            submission_id, argv = recorded.submission_id, recorded.argv
            script: tuple[Path, str] | None = (recorded.script_path, recorded.script_text)
        else:
            submission_id, argv = _record_same_script(connection, row, attempt, me)
            script = None
            if decision is not None:
                note_outcome(connection, decision.pending, submission_id, utcnow())
    if decision is not None:
        echo(f"{row.name}: {decision.message}")
    answers = Answers(store, echo)
    try:
        if script is not None:
            try:
                make_dirs(script[0].parent)
                write_text_atomic(script[0], script[1])
            except OSError as error:
                sent = answers.failed(submission_id, row.name, argv, f"cannot write {script[0]}: {error.strerror}")
                return ContinueResult(row.name, attempt, None, sent.error, decision)
        sent = answers.add(submission_id, row.name, argv, slurm.submit(argv))
    finally:
        answers.flush()
    return ContinueResult(row.name, attempt, sent.job_id, sent.error, decision, uncertain=sent.uncertain)


def _record_same_script(connection: sqlite3.Connection, row: PriorAttempt, attempt: int,
                        me: processes.ProcessId) -> tuple[int, list[str]]:
    """An experiment that is not a resumable PBT policy runs its recorded script again, as its next attempt."""
    argv = json.loads(row.argv)
    now = utcnow()
    submission_id = insert(connection, NewSubmission(
        experiment_id=row.experiment_id, script_id=row.script_id, attempt=attempt, argv=argv,
        log_path=row.log_path, state=states.SUBMITTING, intended_at=now, updated_at=now, host=me.host,
        runner_pid=me.pid, runner_start=me.start, origin="continue", parent_submission_id=row.id,
        options=json.loads(row.attempt_options or "null"),  # the script and argv sent again carry them
    ))
    writes.add_state_change(connection, submission_id, states.SUBMITTING, now, "continue: the same script again")
    if row.uuid:
        argv = with_tag(argv, submission_tag(row.uuid, submission_id))
        writes.set_argv(connection, submission_id, argv)
    return submission_id, argv
