"""Cancelling some of a workdir's jobs, and keeping a record of having asked.

Slurm jobs go to one scancel call. Local processes are stopped here: their
process group gets SIGTERM, then SIGKILL after a grace period; a queued one
is marked cancelled so its runner never starts it. Jobs of a backend that
pbt-track cannot cancel (NGC) are left alone, with its advice on how to.

The request (a `cancellations` row) is written before scancel runs, so that
it is on record whatever happens to scancel; a Slurm job is marked
`cancel_requested_at` only after scancel accepted it (see
`pbt_tracker.scancel_answer`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pbt_tracker import backends, processes, slurm, states
from pbt_tracker.errors import OptionError, SchedulerError
from pbt_tracker.processes import ProcessId
from pbt_tracker.scancel_answer import read_scancel_answer
from pbt_tracker.store import Store, queries, utcnow, writes
from pbt_tracker.tracker.selection import Selection


@dataclass
class CancelResult:
    targets: list[tuple[str, str | None]]  # (experiment, job id; None for a queued local experiment)
    dry_run: bool
    cancellation_id: int | None = None
    refused: dict[str, str] = field(default_factory=dict)  # job id -> scancel's reason; those were not cancelled
    accepted: list[int] = field(default_factory=list)  # submissions whose Slurm job scancel accepted
    elsewhere: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)  # how to cancel selected jobs pbt-track cannot cancel


@dataclass(frozen=True)
class _Target:
    submission_id: int
    experiment: str
    job_id: str | None
    backend: str
    state: str
    host: str | None
    process_start: int | None


def check_cancel_selection(selection: Selection, everything: bool) -> None:
    """Before the record is opened (and synced, which writes): a cancel without a selection is refused."""
    if selection.is_empty and not everything:
        raise OptionError("say what to cancel: --experiment NAME, --run NAME, --job ID, --state STATE, or --all")


def cancel_jobs(store: Store, selection: Selection, everything: bool = False, dry_run: bool = False) -> CancelResult:
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
    here = processes.hostname()
    with store.write() as connection:
        queries.check_names_exist(connection, selection)
        rows = queries.selected(connection, active, "s.id, e.name, s.job_id, l.backend, s.state, s.host, s.process_start")
        live = [row for row in rows if row["state"] in states.MAY_BE_ACTIVE]
        advice = list(dict.fromkeys(
            advised for advised in (backends.get(row["backend"]).cancel_advice for row in live) if advised
        ))
        targets = [
            _Target(*row) for row in live
            if backends.get(row["backend"]).cancel_advice is None
            and (row["job_id"] or (backends.get(row["backend"]).stops_locally and row["state"] == states.PENDING))
        ]
        if advice and not targets:
            raise OptionError(advice[0] if len(advice) == 1 else "; ".join(advice))
        result = CancelResult([(t.experiment, t.job_id) for t in targets], dry_run, advice=advice)
        result.elsewhere = sorted(
            {t.host for t in targets if _backend(t).stops_locally and t.host and t.host != here}
        )
        if result.elsewhere:
            raise OptionError(
                f"some of these experiments run on {', '.join(result.elsewhere)}; "
                "run this cancel there (local processes can only be stopped on their own host)"
            )
        if dry_run or not targets:
            return result
        job_ids = [t.job_id for t in targets if t.job_id]
        slurm_ids = [t.job_id for t in targets if _backend(t).cancels_with_scancel and t.job_id]
        now = utcnow()
        result.cancellation_id = writes.insert(connection, "cancellations", {
            "selection": {**selection.as_dict(), "all": everything},
            "job_ids": job_ids,
            "argv": ["scancel", *slurm_ids] if slurm_ids else [],
            "requested_at": now,
        })
        writes.request_cancel(connection, [t.submission_id for t in targets if not _backend(t).cancels_with_scancel],
                              now)
        for target in targets:
            if _backend(target).stops_locally and target.state == states.PENDING:
                from pbt_tracker.tracker.local import record_end  # local processes only: Slurm's cancel skips it

                record_end(connection, queries.submission(connection, target.submission_id), states.CANCELLED,
                           None, "cancelled before it started")

    _stop_local(store, [t for t in targets if _backend(t).stops_locally and t.job_id])
    if not slurm_ids:
        _complete(store, result.cancellation_id, 0, "", "")
        return result
    try:
        outcome = slurm.scancel(slurm_ids)
    except SchedulerError as error:  # not known whether it signalled anything: no job is marked
        _complete(store, result.cancellation_id, None, "", str(error))
        raise
    answer = read_scancel_answer(slurm_ids, outcome.returncode, outcome.stderr)
    result.refused = answer.refused
    accepted = set(answer.accepted)
    result.accepted = [t.submission_id for t in targets if _backend(t).cancels_with_scancel and t.job_id in accepted]
    _complete(store, result.cancellation_id, outcome.returncode, outcome.stdout, outcome.stderr, result.accepted, now)
    return result


def _backend(target: _Target) -> backends.Backend:
    return backends.get(target.backend)


def _names_experiments(selection: Selection, everything: bool) -> bool:
    """Whether the cancel names experiments (or a run), which mean their newest launch.

    --all, a job id or a state alone reach every launch's jobs: a job left
    running because a newer launch reused its name is still a job to stop.
    """
    return not everything and not selection.job_ids and bool(selection.experiments or selection.run)


def _stop_local(store: Store, targets: list[_Target]) -> None:
    if not targets:
        return
    from pbt_tracker.tracker.local import EXIT_DIR, record_end

    here = processes.hostname()
    processes.terminate_groups([ProcessId(int(t.job_id or 0), t.process_start, here) for t in targets])
    for target in targets:
        code = processes.read_exit_file(store.workdir / EXIT_DIR / str(target.submission_id))
        with store.write() as connection:
            record_end(connection, queries.submission(connection, target.submission_id), states.CANCELLED, code,
                       "cancelled")


def _complete(store: Store, cancellation_id: int | None, returncode: int | None, stdout: str, stderr: str,
              accepted: list[int] | None = None, requested_at: datetime | None = None) -> None:
    """scancel's answer on the request, and the request on each submission scancel accepted, in one transaction."""
    assert cancellation_id is not None
    with store.write() as connection:
        if accepted and requested_at is not None:
            writes.request_cancel(connection, accepted, requested_at)
        writes.update(connection, "cancellations", cancellation_id, {
            "returncode": returncode, "stdout": stdout, "stderr": stderr, "completed_at": utcnow(),
        })
