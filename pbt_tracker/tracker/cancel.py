"""Cancelling some of a workdir's jobs with one scancel, and keeping a record of having asked."""

from __future__ import annotations

from dataclasses import dataclass

from pbt_tracker import slurm, states
from pbt_tracker.errors import OptionError, SchedulerError
from pbt_tracker.store import Store
from pbt_tracker.store.models import Cancellation, utcnow
from pbt_tracker.tracker.selection import Selection, check_names_exist, selected_rows


@dataclass
class CancelResult:
    targets: list[tuple[str, str]]  # (experiment, job id)
    dry_run: bool
    cancellation_id: int | None = None
    scancel_error: str | None = None


def cancel_jobs(store: Store, selection: Selection, everything: bool = False, dry_run: bool = False) -> CancelResult:
    if selection.is_empty and not everything:
        raise OptionError("say what to cancel: --experiment NAME, --run NAME, --job ID, --state STATE, or --all")
    active = Selection(
        run=selection.run,
        experiments=selection.experiments,
        job_ids=selection.job_ids,
        states=tuple(selection.states) or tuple(sorted(states.MAY_BE_ACTIVE)),
        all_attempts=True,
        backends=("slurm",),
    )
    with store.transaction() as session:
        check_names_exist(session, selection)
        rows = session.execute(selected_rows(active)).all()
        targets = [
            (experiment.name, submission.job_id)
            for submission, experiment, _launch, _script in rows
            if submission.job_id and submission.state in states.MAY_BE_ACTIVE
        ]
        result = CancelResult(targets, dry_run)
        if dry_run or not targets:
            return result
        cancellation = Cancellation(
            selection={**selection.as_dict(), "all": everything},
            job_ids=[job_id for _, job_id in targets],
            argv=["scancel", *[job_id for _, job_id in targets]],
            requested_at=utcnow(),
        )
        session.add(cancellation)
        session.flush()
        result.cancellation_id = cancellation.id

    try:
        outcome = slurm.scancel([job_id for _, job_id in targets])
    except SchedulerError as error:
        _complete(store, result.cancellation_id, None, "", str(error))
        raise
    _complete(store, result.cancellation_id, outcome.returncode, outcome.stdout, outcome.stderr)
    if outcome.returncode != 0:
        result.scancel_error = slurm.one_line(outcome.stderr) or f"scancel exited with {outcome.returncode}"
    return result


def _complete(store: Store, cancellation_id: int | None, returncode: int | None, stdout: str, stderr: str) -> None:
    with store.transaction() as session:
        cancellation = session.get_one(Cancellation, cancellation_id)
        cancellation.returncode = returncode
        cancellation.stdout = stdout
        cancellation.stderr = stderr
        cancellation.completed_at = utcnow()
