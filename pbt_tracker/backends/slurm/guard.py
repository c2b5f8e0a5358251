"""How a job starts its experiment, decided from inside the job while it holds the experiment's claim.

The record says which attempt of an experiment is the current one; a job
that runs an older one (a lost sbatch answer sent again, a requeued job
whose experiment was resumed meanwhile) must not run it. And a job script
describes its policy's first start: run again (a requeue, a chain's own
`sbatch $FILENAME`, a second job of one sbatch), it would start a PBT
policy over from iteration 0, or from the checkpoint its script names. So
such a start runs instead the continuation `pbt.resume` picks from the
checkpoints on disk, in a script rendered from the launch's template (with
no claim lines: it runs under this job's claim), and the attempt's history
says so.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from pbt_tracker.backends.options import launch_options_from_record
from pbt_tracker.backends.resubmission import policy_decision
from pbt_tracker.backends.slurm import NAME as SLURM
from pbt_tracker.backends.slurm import commands as slurm
from pbt_tracker.backends.slurm.claim import STOP
from pbt_tracker.backends.slurm.claim_lock import Runner
from pbt_tracker.backends.slurm.continuation import CONTINUATIONS_DIR, continuation_script
from pbt_tracker.backends.slurm.output import JobObservation
from pbt_tracker.backends.slurm.script import SBATCH_TEMPLATE_DEFAULT
from pbt_tracker.backends.slurm.tags import tags_in
from pbt_tracker.errors import SchedulerError, StoreError
from pbt_tracker.files import make_dirs, write_text_atomic
from pbt_tracker.launch.record import sha256_text, share_as_launched
from pbt_tracker.pbt.starts import note_outcome
from pbt_tracker.store import Store, queries, utcnow
from pbt_tracker.store.guard import (
    GuardAttempt,
    GuardExperiment,
    attempts_of,
    chained_attempt,
    guarded_experiment,
    note,
    recorded_job,
)
from pbt_tracker.store.new_rows import NewScript, insert

__all__ = ["EXEC", "RUN", "STOP", "GuardRequest", "JobStart", "Start", "guard_start"]

RUN, EXEC = "run", "exec"

if TYPE_CHECKING:
    from pbt_tracker.backends.slurm.options import SlurmLaunchOptions


@dataclass(frozen=True)
class JobStart:
    """What a starting job knows of itself, from the environment Slurm gives it."""

    job_id: str | None
    restart_count: int = 0
    host: str = ""

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> JobStart:
        array, task = environ.get("SLURM_ARRAY_JOB_ID"), environ.get("SLURM_ARRAY_TASK_ID")
        job_id = f"{array}_{task}" if array and task else environ.get("SLURM_JOB_ID") or None
        try:
            restarts = int(environ.get("SLURM_RESTART_COUNT") or 0)
        except ValueError:
            restarts = 0
        return cls(job_id, restarts, environ.get("SLURMD_NODENAME") or socket.gethostname())


@dataclass(frozen=True)
class GuardRequest:
    """Who the job script says it is (its claim lines name these)."""

    launch_uuid: str
    experiment: str
    script: str


@dataclass(frozen=True)
class Start:
    """The answer: run the script on, `exec` a continuation, or stop; `message` goes to the job's log.

    A job that runs says so in the claim file, as `attempt` (`submission`).
    """

    action: str
    script: Path | None = None
    message: str | None = None
    attempt: int = 0
    submission_id: int = 0

    @property
    def output(self) -> str:
        """What the claim lines read: nothing, a script to exec, or `stop`."""
        return {RUN: "", EXEC: str(self.script), STOP: STOP}[self.action]


def guard_start(store: Store, request: GuardRequest, job: JobStart, last_runner: Runner | None) -> Start:
    """Decide, holding the claim, how this job starts its experiment; writes only when the start is not a first one.

    `last_runner` is what the claim file says of the job that ran the
    experiment last.
    """
    name, me = request.experiment, f"job {job.job_id}"
    if job.job_id is None:
        return _stop(f"this script was started outside Slurm (no SLURM_JOB_ID), where the record cannot follow "
                     f"it; it does not run {name}")
    with store.read() as connection:
        experiment = guarded_experiment(connection, request.launch_uuid, name)
        attempts = attempts_of(connection, name, experiment.train_dir) if experiment else []
    if experiment is None:
        return _stop(f"{name} of launch {request.launch_uuid} is not in the record of {store.workdir} (was its "
                     f"launch purged?); {me} does not run it")
    if not attempts:
        return _stop(f"no attempt of {name} was sent (launch {experiment.launch_id} is a preview; "
                     f"`pbt-track submit --launch {experiment.launch_id}` sends it); {me} does not run it")
    current = attempts[0]
    mine, observed = _identify(attempts, job.job_id, request.script)
    if mine is not None and mine.id != current.id:
        return _stop(f"{me} runs attempt {mine.attempt} of {name}, but {_described(current, mine)} is its current "
                     "attempt; this job does not run it")
    if mine is None and current.script_path != request.script:
        return _stop(f"{me} runs {request.script}, which no attempt on record sent, and {name}'s current "
                     f"{_described(current, None)} runs {current.script_path}; this job does not run it")
    reason, new_attempt = _not_first(job, mine, current, last_runner)
    if reason is None:
        assert mine is not None
        return Start(RUN, attempt=mine.attempt, submission_id=mine.id)
    return _resolve(store, request, experiment, job, mine or current, observed, reason, new_attempt)


def _stop(message: str) -> Start:
    return Start(STOP, message=message)


def _described(attempt: GuardAttempt, mine: GuardAttempt | None) -> str:
    launch = f" of launch {attempt.launch_id}" if mine is not None and mine.launch_id != attempt.launch_id else ""
    job = f"job {attempt.job_id}, " if attempt.job_id else ""
    return f"attempt {attempt.attempt}{launch} ({job}{attempt.state})"


def _identify(attempts: list[GuardAttempt], job_id: str, script: str,
              ) -> tuple[GuardAttempt | None, JobObservation | None]:
    """The attempt this job is, by its id on record, else by the tag its sbatch gave it; None for a job that no
    attempt sent, with squeue's line for it.

    A job starts as soon as sbatch answers, often before the answer is on
    record: its tag tells. Where squeue cannot answer, or answers without
    this very job (running, so a line was lost), a job running the current
    attempt's script while that attempt has no job id is taken to be that
    attempt's: silence proves no other sender.
    """
    for attempt in attempts:
        if attempt.job_id == job_id:
            return attempt, None
    try:
        observed = slurm.query_job(job_id)
    except SchedulerError:
        observed = None
    if observed is None:
        current = attempts[0]
        return (current if current.job_id is None and current.script_path == script else None), None
    for tag in tags_in(observed.comment if observed else None):
        _prefix, launch_uuid, which = tag.split(":")
        for attempt in attempts:
            if attempt.launch_uuid != launch_uuid:
                continue
            if which == str(attempt.id) or (which == f"array{attempt.array_id}"
                                            and job_id.rpartition("_")[2] == str(attempt.array_task)):
                return attempt, observed
    return None, observed


def _not_first(job: JobStart, mine: GuardAttempt | None, current: GuardAttempt, last: Runner | None,
               ) -> tuple[str | None, bool]:
    """Why this start is not its attempt's first (None when it is), and whether the job is a new attempt.

    SLURM_RESTART_COUNT alone does not tell: sbatch passes the environment
    on, so a job sent from inside a requeued one inherits its count. The
    claim file does: it names the job that ran the experiment last, and as
    which submission, which a second job of one lost sbatch answer shares.
    """
    if mine is None:
        return f"a job of attempt {current.attempt}'s script that pbt-track did not send", True
    if mine.job_id not in (None, job.job_id):
        return f"a second job of attempt {mine.attempt}'s sbatch (attempt {mine.attempt} is job {mine.job_id})", True
    if last is not None and last.submission_id == mine.id and last.job_id != job.job_id:
        return f"a second job of attempt {mine.attempt}'s sbatch (job {last.job_id} ran it)", True
    if job.restart_count > 0 and (last is None or last.job_id == job.job_id):
        return f"requeued (restart {job.restart_count})", False
    if last is not None and last.job_id == job.job_id:
        return f"started again (job {job.job_id} ran it before)", False
    if mine.origin == "chain":
        return f"attempt {mine.attempt} was sent by its predecessor's own sbatch (origin chain)", False
    return None, False


def _resolve(store: Store, request: GuardRequest, experiment: GuardExperiment, job: JobStart,
             attempt: GuardAttempt, observed: JobObservation | None, reason: str, new_attempt: bool) -> Start:
    """The policy's continuation from its latest checkpoint (its original command when it has none), noted on
    the attempt; an experiment that is not a PBT policy runs its command as recorded."""
    with store.read() as connection:
        decision = policy_decision(connection, attempt.experiment_id, experiment.cmd, experiment.params,
                                   experiment.train_dir, experiment.cwd)
    if decision is None:
        what = "runs its command as recorded (not a PBT policy)"
    elif decision.continues:
        what = decision.message
    else:
        what = f"restarted from iteration 0 ({decision.message})"
    text = f"{reason}: {what}"
    now = utcnow()
    assert job.job_id is not None
    with store.write() as connection:
        newest = attempts_of(connection, experiment.name, experiment.train_dir)[0]
        if newest.id != attempt.id and newest.job_id != job.job_id:
            return _stop(f"job {job.job_id}: {_described(newest, None)} of {experiment.name} was recorded while "
                         "this job started; this job does not run it")
        submission_id, number = attempt.id, attempt.attempt
        if new_attempt:
            known = recorded_job(connection, job.job_id)
            if known is not None:  # a sync found it in squeue meanwhile
                submission_id, number = known, newest.attempt
            else:
                submission_id, number = chained_attempt(
                    connection, attempt, job.job_id, observed.stdout if observed else None,
                    observed.node if observed else job.host or None, observed.submitted_at if observed else None,
                    now, f"found by its guard at start: {reason}")
        script = None
        if decision is not None:
            script = _write_continuation(connection, store.workdir, experiment, request, attempt.experiment_id,
                                         number, job.job_id, decision.command)
        note(connection, submission_id, now, text)
        if decision is not None:
            note_outcome(connection, decision.pending, submission_id, now)
    return Start(EXEC if script else RUN, script, f"job {job.job_id}, {text}", number, submission_id)


def _write_continuation(connection: sqlite3.Connection, workdir: Path, experiment: GuardExperiment,
                        request: GuardRequest, experiment_id: int, attempt: int, job_id: str, command: str) -> Path:
    """Rendered as the launch's script would have been for this command, its $FILENAME the script this job runs
    (whose own `sbatch $FILENAME` then sends the claimed script again); recorded with the experiment's scripts."""
    resources = cast("SlurmLaunchOptions", launch_options_from_record(json.loads(experiment.options or "{}"),
                                                                       SLURM)).resources
    share_as_launched(experiment.options)
    path = workdir / CONTINUATIONS_DIR / f"sbatch_{experiment.name}.{attempt}.job{job_id}.sh"
    number = 2
    while queries.held_paths(connection, [str(path)]):
        path = path.with_name(f"sbatch_{experiment.name}.{attempt}.job{job_id}.{number}.sh")
        number += 1
    text = continuation_script(experiment.template_text or SBATCH_TEMPLATE_DEFAULT, experiment.template_path,
                               command, Path(request.script), resources, experiment.name)
    try:
        make_dirs(path.parent)
        write_text_atomic(path, text)
    except OSError as error:
        raise StoreError(f"cannot write {path}: {error.strerror}; job {job_id} does not run "
                         f"{experiment.name}") from None
    insert(connection, NewScript(experiment_id=experiment_id, path=str(path), text=text, sha256=sha256_text(text),
                                 created_at=utcnow()))
    return path
