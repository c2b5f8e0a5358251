"""How long a running PBT policy has gone without a new iteration, from the record or else its workspace.

Sync copies every iteration file into pbt_iterations with the time it first
saw it; that history is the evidence. A workdir whose syncs copy none (an
older pbt-track) falls back on the workspace's own files and their times.
Only the running attempt's life counts: a resumed policy is judged from its
own start, not by the pace of the attempt before it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pbt_tracker.keeper.rules import DECISION_UNDONE, STARTED_OVER, Attempt, Decision, stall_since_start
from pbt_tracker.pbt.stall import Stall, stall_of
from pbt_tracker.store import Store
from pbt_tracker.report.decisions import undone_text
from pbt_tracker.store.decisions import undone_starts
from pbt_tracker.store.kept import decisions_on, iteration_history

if TYPE_CHECKING:
    from pbt_tracker.keeper.kept import Kept


def policy_stall(store: Store, item: Kept, latest: Attempt, now: float, stall_after: float | None) -> Stall | None:
    """The policy's stall, or None for an experiment that is not a PBT policy."""
    from pbt_tracker.keeper.kept import epoch
    from pbt_tracker.pbt.workspace import find_workspace, policy_index, read_policy_entries

    policy = policy_index(item.params, item.cmd)
    if policy is None:
        return None
    with store.read() as connection:
        recorded = iteration_history(connection, item.id)
    if recorded:
        history = [(seen.iteration, epoch(seen.observed_at) or 0.0) for seen in recorded]
    else:
        workspace = find_workspace(item.cmd, item.train_dir, item.cwd)
        entries = read_policy_entries(workspace, policy) if workspace is not None else []
        history = [(entry.iteration, entry.mtime_ns / 1e9) for entry in entries]
    began = latest.started_at
    if began is not None:
        history = [(iteration, seen) for iteration, seen in history if seen >= began]
    return stall_since_start(history, began, now, stall_after) or stall_of(history, now, stall_after)


def undone_decisions(store: Store, kept: list[Kept]) -> list[tuple[Kept, Attempt | None, Decision]]:
    """An event for each PBT decision a continuation of a kept experiment undid, once: the keeper's record of
    the event names the continuation, which is how a later pass knows it was told."""
    by_id = {item.id: item for item in kept}
    with store.read() as connection:
        rows = [row for row in undone_starts(connection, list(by_id)) if row.outcome_submission_id is not None]
        told = {(row.submission_id, row.action) for row in decisions_on(
            connection, [row.outcome_submission_id for row in rows if row.outcome_submission_id is not None])}
    found = []
    for row in rows:
        if (row.outcome_submission_id, DECISION_UNDONE) in told:
            continue
        item = by_id[row.experiment_id]
        attempt = next((a for a in item.attempts if a.submission_id == row.outcome_submission_id), None)
        found.append((item, attempt, Decision(DECISION_UNDONE, undone_text(row))))
    return found


def started_over_events(store: Store, kept: list[Kept]) -> list[tuple[Kept, Attempt | None, Decision]]:
    """An event for each start over of a kept PBT policy, once: the keeper's record of the event names the life
    that started over, which is how a later pass knows it was told."""
    from pbt_tracker.pbt.lives import over_text, started_over
    from pbt_tracker.store.lives import lives_told

    by_id = {item.id: item for item in kept}
    with store.read() as connection:
        overs = started_over(connection, by_id)
        told = lives_told(connection, {over.experiment_id for over in overs}, STARTED_OVER) if overs else set()
    found = []
    for over in overs:
        if (over.experiment_id, over.life) in told:
            continue
        item = by_id[over.experiment_id]
        attempt = next((a for a in item.attempts if a.submission_id == over.submission_id), None)
        detail = {"life": over.life, "restarted_from": over.restarted_from, "after_iteration": over.after_iteration,
                  "iterations_redone": over.redone}
        found.append((item, attempt, Decision(STARTED_OVER, over_text(item.name, over), detail)))
    return found
