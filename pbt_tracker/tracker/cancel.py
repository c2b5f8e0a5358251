"""Cancelling some of a workdir's jobs, and keeping a record of having asked.

Each backend stops its own jobs (`Backend.stop`): Slurm's all go to one
scancel call; local processes get SIGTERM, then SIGKILL after a grace
period, and a queued one is marked cancelled so its runner never starts it.
NGC's get one `ngc batch kill`. Jobs of a backend that pbt-track cannot
cancel (one that gives `cancel_advice`) are left alone, with its advice on how to.

The request (a `cancellations` row per command that will run, with it) is
written before any job is stopped, so that it is on record whatever happens
to scancel; a Slurm job is marked `cancel_requested_at` only after scancel
accepted it (see `pbt_tracker.backends.slurm.scancel_answer`). Right after,
each backend reads the states of the jobs it accepted to stop
(`Backend.settle_cancelled`), so that the report that follows shows them ended.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any, NamedTuple

from pbt_tracker import backends, processes, settings, states
from pbt_tracker.backends import CancelTarget, Stopped
from pbt_tracker.backends.base import SyncResult
from pbt_tracker.errors import OptionError, SchedulerError
from pbt_tracker.store import Store, queries, utcnow, writes
from pbt_tracker.store.cancel import (
    InFlight,
    NewCancellation,
    cancel_targets,
    complete_cancellation,
    in_flight,
    insert_cancellation,
)
from pbt_tracker.store.selection import Selection
from pbt_tracker.tracker.cancel_selection import check_cancel_selection


class CancelResult(NamedTuple):
    targets: list[tuple[str, str | None]]  # (experiment, job id; None for a queued local experiment)
    dry_run: bool
    advice: list[str]  # how to cancel selected jobs pbt-track cannot cancel
    cancellation_id: int | None = None
    refused: Mapping[str, str] = MappingProxyType({})  # job id -> scancel's reason; those were not cancelled
    accepted: Mapping[str, Sequence[int]] = MappingProxyType({})  # backend -> submissions it accepted to stop
    in_flight: Sequence[str] = ()  # experiments still being sent when the cancel gave up waiting: not cancelled
    said_by: Mapping[str, str] = MappingProxyType({})  # job id -> the program that stopped it (scancel, ngc)
    lost: Mapping[str, str] = MappingProxyType({})  # job id -> how its answer was lost; it may have been cancelled
    settling: Mapping[str, Any] = MappingProxyType({})  # backend -> what its stop started asking (Stopped.settling)


def cancel_jobs(store: Store, selection: Selection, everything: bool = False, dry_run: bool = False,
                settle: bool = False) -> CancelResult:
    """Stop the selected jobs that may still run; with `settle`, backends start reading them right after (see
    `settle_cancelled`)."""
    check_cancel_selection(selection, everything)
    active = Selection(
        run=selection.run,
        experiments=selection.experiments,
        job_ids=selection.job_ids,
        states=tuple(selection.states) or tuple(sorted(states.MAY_BE_ACTIVE)),
        all_attempts=True,
        launch=selection.launch,
        all_launches=selection.all_launches or not _names_experiments(selection, everything),
    )
    still_sending = [] if dry_run else _wait_for_submitters(store, active)
    with store.write() as connection:
        queries.check_names_exist(connection, selection)
        live = [row for row in cancel_targets(connection, active) if row.state in states.MAY_BE_ACTIVE]
        advice = list(dict.fromkeys(
            advised for advised in (backends.get(row.backend).cancel_advice for row in live) if advised
        ))
        targets = [row for row in live if _cancellable(backends.get(row.backend), row)]
        advice += _unidentified_advice([row for row in live if row.state == states.SUBMITTED and not row.job_id
                                        and not _cancellable(backends.get(row.backend), row)])
        if advice and not targets:
            raise OptionError(advice[0] if len(advice) == 1 else "; ".join(advice))
        sending = [row.experiment for row in live if row.submission_id in still_sending]
        result = CancelResult([(t.experiment, t.job_id) for t in targets], dry_run, advice, in_flight=sending)
        groups = _by_backend(targets)
        for backend, own in groups:
            backend.check_cancel(own)
        if dry_run or not targets:
            return result
        commands = [backend.cancel_command(own) for backend, own in groups]
        now = utcnow()
        # A request per command that runs (Slurm's scancel, NGC's ngc batch kill), each with its own jobs; the
        # backends that run none share the first, or one of their own.
        shares = [index for index, command in enumerate(commands) if command] or [0]
        share_of = {index: shares[0] for index in range(len(groups))} | {index: index for index in shares}
        cancellation_ids = {share: insert_cancellation(connection, NewCancellation(
            selection={**selection.as_dict(), "all": everything},
            job_ids=[t.job_id for index, (_, own) in enumerate(groups) if share_of[index] == share
                     for t in own if t.job_id],
            argv=commands[share],
            requested_at=now,
        )) for share in shares}
        for backend, own in groups:
            backend.mark_cancelling(connection, own, now)

    answers: list[Stopped] = []
    failure = None
    for backend, own in groups:
        try:
            answers.append(backend.stop(store, own, settle))
        except SchedulerError as error:  # not known whether it signalled anything: no job is marked
            failure = error
            answers.append(Stopped(returncode=None, stderr=str(error)))
    for share, cancellation_id in cancellation_ids.items():
        own_answers = [answer for index, answer in enumerate(answers) if share_of[index] == share]
        command = answers[share] if commands[share] else Stopped()
        _complete(store, cancellation_id, Stopped(
            [submission_id for answer in own_answers for submission_id in answer.accepted], command.refused,
            command.returncode, command.stdout, command.stderr), now)
    if failure is not None:
        raise failure
    refused = {job_id: reason for answer in answers for job_id, reason in answer.refused.items()}
    lost = {job_id: how for answer in answers for job_id, how in answer.lost.items()}
    accepted = {backend.name: answer.accepted for (backend, _), answer in zip(groups, answers) if answer.accepted}
    settling = {backend.name: answer.settling for (backend, _), answer in zip(groups, answers)
                if answer.settling is not None}
    said_by = {t.job_id: commands[index][0] for index, (_, own) in enumerate(groups) if commands[index]
               for t in own if t.job_id}
    return result._replace(cancellation_id=min(cancellation_ids.values()), refused=refused, accepted=accepted,
                           said_by=said_by, lost=lost, settling=settling)


def _wait_for_submitters(store: Store, selection: Selection) -> set[int]:
    """Let the selected attempts that are inside sbatch get their job ids, so the cancel reaches them too.

    A keeper or a launch may be sending an attempt of the very experiments a
    user cancels; without its job id the cancel would pass it by, and the job
    would start afterwards. A submitter that has died is not waited for (sync
    settles what it left), and none for longer than the scheduler's time-out.
    Returns the attempts still being sent when the wait ended.
    """
    if states.SUBMITTING not in selection.states:
        return set()
    being_sent = selection._replace(states=(states.SUBMITTING,))  # read by the state's index, not every attempt
    deadline = time.monotonic() + settings.scheduler_timeout() + 5.0
    while True:
        with store.read() as connection:
            ids = [row.submission_id for row in cancel_targets(connection, being_sent) if row.job_id is None]
            sending = [row for row in in_flight(connection, ids) if _alive(row)]
        if not sending or time.monotonic() > deadline:
            return {row.submission_id for row in sending}
        time.sleep(0.2)


def _alive(row: InFlight) -> bool:
    """A submitter on another host cannot be looked at from here: it counts as alive until the wait ends."""
    if row.runner_pid is None:
        return False
    if row.host != processes.hostname():
        return True
    return processes.is_running(processes.ProcessId(row.runner_pid, row.runner_start, row.host))


def settle_cancelled(store: Store, accepted: Mapping[str, Sequence[int]],
                     settling: Mapping[str, Any] = MappingProxyType({})) -> SyncResult:
    """Each backend's reading of the jobs it accepted to stop; the workdir's other jobs wait for the next sync."""
    result = SyncResult()
    for name, submission_ids in accepted.items():
        backends.get(name).settle_cancelled(store, list(submission_ids), result, settling.get(name))
    return result


def _unidentified_advice(rows: list[CancelTarget]) -> list[str]:
    """Attempts accepted without a job id pbt-track could read: only the scheduler's own tools reach them."""
    by_backend: dict[str, list[str]] = {}
    for row in rows:
        by_backend.setdefault(backends.get(row.backend).title, []).append(row.experiment)
    return [f"{', '.join(names)} {'has' if len(names) == 1 else 'have'} no job id on record ({title} accepted "
            f"{'it' if len(names) == 1 else 'them'} without one pbt-track could read): stop "
            f"{'it' if len(names) == 1 else 'them'} with {title}'s own tools"
            for title, names in by_backend.items()]


def _cancellable(backend: backends.Backend, target: CancelTarget) -> bool:
    """A job pbt-track can stop: one with a job id, or one its backend cancels before it starts."""
    return backend.cancel_advice is None and bool(
        target.job_id or (backend.cancels_before_start and target.state == states.PENDING)
    )


def _by_backend(targets: list[CancelTarget]) -> list[tuple[backends.Backend, list[CancelTarget]]]:
    groups: dict[str, list[CancelTarget]] = {}
    for target in targets:
        groups.setdefault(target.backend, []).append(target)
    return [(backends.get(name), own) for name, own in groups.items()]


def _names_experiments(selection: Selection, everything: bool) -> bool:
    """Whether the cancel names experiments (or a run), which mean their newest launch.

    --all, a job id or a state alone reach every launch's jobs: a job left
    running because a newer launch reused its name is still a job to stop.
    """
    return not everything and not selection.job_ids and bool(selection.experiments or selection.run)


def _complete(store: Store, cancellation_id: int, answer: Stopped, requested_at: datetime) -> None:
    """The command's answer on the request, and the request on each job the scheduler accepted, in one transaction."""
    with store.write() as connection:
        if answer.accepted:
            writes.request_cancel(connection, answer.accepted, requested_at)
        complete_cancellation(connection, cancellation_id, answer.returncode, answer.stdout, answer.stderr, utcnow())
