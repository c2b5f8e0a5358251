"""What the keeper does once a decision is on record: cancel a stalled policy, resubmit ended ones.

Both go through the commands a user would run (cancel, resubmit-failed), so
the keeper's attempts are recorded and found again exactly as theirs are.
The outcome is added to the decision; a failure is recorded, never raised,
so one experiment's trouble does not stop the keeper looking after the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pbt_tracker.errors import PbtTrackError
from pbt_tracker.launch.record import Echo
from pbt_tracker.store import Store
from pbt_tracker.store import keeper as keeper_store
from pbt_tracker.store.selection import Selection

if TYPE_CHECKING:
    from pbt_tracker.keeper.kept import Kept
    from pbt_tracker.tracker.cancel import CancelResult


def _note(store: Store, outcomes: list[tuple[int, str]]) -> None:
    with store.write() as connection:
        for decision_id, outcome in outcomes:
            keeper_store.note_outcome(connection, decision_id, outcome)


def cancel_stalled(store: Store, stalled: list[tuple[int, Kept]], echo: Echo) -> None:
    from pbt_tracker.tracker.cancel import cancel_jobs

    outcomes = []
    for decision_id, item in stalled:
        try:
            result = cancel_jobs(store, Selection(experiments=(item.name,)))
        except PbtTrackError as error:
            outcome = f"failed: {error}"
        else:
            outcome = _cancel_outcome(result)
        echo(f"{item.name}: {outcome}")
        outcomes.append((decision_id, outcome))
    _note(store, outcomes)


def _cancel_outcome(result: CancelResult) -> str:
    if result.refused:
        return "failed: scancel refused it: " + "; ".join(dict.fromkeys(result.refused.values()))
    if result.lost:
        return ("unknown: scancel gave no answer (" + "; ".join(dict.fromkeys(result.lost.values())) + "); it may "
                "have been cancelled, and the next sync records what Slurm says")
    return "cancelled" if result.targets else "not cancelled: it had ended already"


def resume(store: Store, resumed: list[tuple[int, Kept]], max_attempts: int | None, echo: Echo,
           options: dict[str, Any] | None = None) -> None:
    """Resubmit them all in one call, so a launch's array tasks go out as one array again."""
    from pbt_tracker.tracker.resubmit import resubmit_failed

    names = tuple(item.name for _decision_id, item in resumed)
    try:
        result = resubmit_failed(store, Selection(experiments=names), include_cancelled=True,
                                 max_attempts=max_attempts, echo=echo, origin="keeper", options=options)
    except PbtTrackError as error:
        _note(store, [(decision_id, f"failed: {error}") for decision_id, _item in resumed])
        echo(f"keeper: resubmitting {', '.join(names)} failed: {error}")
        return
    attempts = dict(result.planned)
    failed = set(result.failed)
    outcomes = []
    for decision_id, item in resumed:
        if item.name in failed:
            outcomes.append((decision_id, f"failed: attempt {attempts.get(item.name)} did not go out or complete"))
        elif item.name in attempts:
            outcomes.append((decision_id, f"attempt {attempts[item.name]} submitted"))
        else:
            outcomes.append((decision_id, "failed: resubmit-failed found nothing to resubmit"))
    _note(store, outcomes)
