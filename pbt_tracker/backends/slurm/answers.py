"""Writing sbatch's answers to the record, a batch at a time."""

from __future__ import annotations

import shlex
import time
from pathlib import Path

from pbt_tracker import states
from pbt_tracker.backends.slurm import NAME as SLURM
from pbt_tracker.backends.slurm import commands as slurm
from pbt_tracker.backends.slurm.commands import SubmitOutcome
from pbt_tracker.files import write_text_atomic
from pbt_tracker.launch.record import Echo, SubmittedJob, quiet
from pbt_tracker.store import Store, utcnow, writes
from pbt_tracker.store.run_values import RunValues
from pbt_tracker.store.sync import JobHolder, base_id, live_holder, live_holders


class Answers:
    """sbatch's answers, written a batch at a time rather than with a commit per job.

    Every intent is on record before its sbatch runs, and each sbatch carries
    its tag, so an answer not yet written when the submitter dies is found
    again by sync; batches are kept short (`max_wait` seconds) so that other
    shells see new job ids soon.
    """

    def __init__(self, store: Store, echo: Echo = quiet, max_wait: float = 0.25) -> None:
        self.store = store
        self.echo = echo
        self.max_wait = max_wait
        self._pending: list[tuple[int, str, SubmitOutcome | None, str | None]] = []
        self._since = time.monotonic()
        self.sbatch_calls = 0
        self.job_ids: list[str] = []  # every job id sbatch gave, written or not: what reached Slurm
        self._held: dict[str, JobHolder] | None = None
        self._given: dict[int, SubmittedJob] = {}  # the jobs given an id not yet written, by submission

    def add(self, submission_id: int, experiment: str, argv: list[str], outcome: SubmitOutcome) -> SubmittedJob:
        self.sbatch_calls += 1
        if outcome.job_id is not None:
            self.job_ids.append(outcome.job_id)
            holder = self._holders().get(base_id(outcome.job_id))
            if holder is not None:
                outcome = outcome._replace(job_id=None, uncertain=True, error=holder.refusal(outcome.job_id))
        if outcome.job_id is not None:
            self._holders()[base_id(outcome.job_id)] = JobHolder(submission_id, outcome.job_id, experiment, 0,
                                                                 states.SUBMITTED, None)
            self.echo(f"Submitted {experiment} as job {outcome.job_id}")
            job = self._given[submission_id] = SubmittedJob(experiment, argv, outcome.job_id, None)
            self._note(submission_id, states.SUBMITTED, outcome, None)
            return job
        if outcome.uncertain:
            self.echo(f"{experiment} may have been submitted ({outcome.error}); pbt-track will find out at the next sync")
        else:
            self.echo(f"sbatch failed for {experiment}: {outcome.error}")
        state = states.SUBMIT_UNCERTAIN if outcome.uncertain else states.SUBMIT_FAILED
        self._note(submission_id, state, outcome, outcome.error)
        return SubmittedJob(experiment, argv, None, outcome.error, outcome.uncertain)

    def failed(self, submission_id: int, experiment: str, argv: list[str], message: str) -> SubmittedJob:
        """A submission that never reached sbatch (its script could not be written)."""
        self._note(submission_id, states.SUBMIT_FAILED, None, message)
        return SubmittedJob(experiment, argv, None, message)

    def _holders(self) -> dict[str, JobHolder]:
        """The job ids live submissions hold, read once, then kept with the ids this batch gives."""
        if self._held is None:
            with self.store.read() as connection:
                self._held = live_holders(connection, SLURM)
        return self._held

    def _note(self, submission_id: int, state: str, outcome: SubmitOutcome | None, error: str | None) -> None:
        if not self._pending:
            self._since = time.monotonic()
        self._pending.append((submission_id, state, outcome, error))
        if time.monotonic() - self._since >= self.max_wait:
            self.flush()

    def flush(self) -> None:
        """Write the pending answers; one whose id another process gave meanwhile is withdrawn from its job."""
        if self._pending:
            withdrawn = complete_submissions(self.store, self._pending)
            self._pending = []
            for submission_id, error in withdrawn.items():
                job = self._given[submission_id]
                job.job_id, job.error, job.uncertain = None, error, True
                self.echo(f"{job.experiment} may have been submitted ({error}); pbt-track will find out at the next "
                          "sync")
            self._given = {}


def complete_array(store: Store, array_id: int, outcome: SubmitOutcome | None,
                   error: str | None = None) -> SubmitOutcome | None:
    """Settle an array and all its tasks in one transaction; the outcome as written.

    An array job id whose base a live submission holds is not taken, as a
    single job's is not (`Answers`): every task is then SUBMIT_UNCERTAIN.
    """
    with store.write() as connection:
        if outcome is not None and outcome.job_id is not None:
            holder = live_holder(connection, SLURM, outcome.job_id)
            if holder is not None:
                error = holder.refusal(outcome.job_id)
                outcome = outcome._replace(job_id=None, uncertain=True, error=error)
        result = outcome.result if outcome else None
        job_id = outcome.job_id if outcome else None
        if job_id is not None:
            state = states.SUBMITTED
        else:
            state = states.SUBMIT_UNCERTAIN if outcome is not None and outcome.uncertain else states.SUBMIT_FAILED
        writes.complete_array(
            connection, array_id, state, utcnow(), job_id, result.returncode if result else None,
            result.stdout if result else None, result.stderr if result and result.stderr else error,
            outcome.cluster if outcome else None, error,
        )
    return outcome


def send_array(
    store: Store, array_id: int, argv: list[str], names: list[str], files: list[tuple[Path, str]], echo: Echo,
    print_only: bool = False, env: dict[str, str] | None = None,
) -> list[SubmittedJob]:
    """Write an array's files (its tasks' scripts, then its own), sbatch it (with `env`) and settle every task.

    Returns each task's outcome, in task order.
    """
    for path, text in files:
        try:
            write_text_atomic(path, text)
        except OSError as error:
            message = f"cannot write {path}: {error.strerror}"
            complete_array(store, array_id, None, error=message)
            return [SubmittedJob(name, argv, None, message) for name in names]
    echo(f"{'Would run' if print_only else 'Executing'} {shlex.join(argv)}")
    if print_only:
        return [SubmittedJob(name, argv, None, None) for name in names]
    sent = slurm.submit(argv, env=env)
    outcome = complete_array(store, array_id, sent, error=sent.error)
    assert outcome is not None
    if outcome.job_id is None:
        what = f"array {files[-1][0].name} ({len(names)} experiments)"
        echo(f"{what} may have been submitted ({outcome.error}); pbt-track will find out at the next sync"
             if outcome.uncertain else f"sbatch failed for {what}: {outcome.error}")
        return [SubmittedJob(name, argv, None, outcome.error, outcome.uncertain) for name in names]
    echo(f"Submitted array job {outcome.job_id} with {len(names)} task(s)")
    jobs = []
    for task, name in enumerate(names):
        echo(f"Submitted {name} as job {outcome.job_id}_{task}")
        jobs.append(SubmittedJob(name, argv, f"{outcome.job_id}_{task}", None))
    return jobs


def complete_submissions(
    store: Store, completions: list[tuple[int, str, SubmitOutcome | None, str | None]]
) -> dict[int, str]:
    """Each (submission, state, outcome, error) written with its state change, all in one transaction.

    Returns the submissions whose job id another submission took meanwhile, with why they were left without it.
    """
    now = utcnow()
    withdrawn = {}
    with store.write() as connection:
        held = live_holders(connection, SLURM, [o.job_id for _, _, o, _ in completions if o is not None and o.job_id])
        for submission_id, state, outcome, error in completions:
            holder = held.get(base_id(outcome.job_id)) if outcome is not None and outcome.job_id else None
            if outcome is not None and outcome.job_id and holder is not None and holder.submission_id != submission_id:
                error = withdrawn[submission_id] = holder.refusal(outcome.job_id)  # given meanwhile elsewhere
                state, outcome = states.SUBMIT_UNCERTAIN, outcome._replace(job_id=None, uncertain=True, error=error)
            values = RunValues()
            result = outcome.result if outcome else None
            if result is not None:
                values = values._replace(submit_returncode=result.returncode, submit_stdout=result.stdout,
                                         submit_stderr=result.stderr)
            if outcome is not None and outcome.job_id is not None:
                values = values._replace(job_id=outcome.job_id, cluster=outcome.cluster, submitted_at=now)
            elif error and not (result and result.stderr):
                values = values._replace(submit_stderr=error)
            writes.change_state(connection, submission_id, None, state, now, error, values)
    return withdrawn
