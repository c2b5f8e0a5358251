"""A policy's starts as the record and its logs tell them, what continuations did about them, and their copies.

A continuation is often decided inside the job that just ended, before any
sync read the end of its log: the part of each attempt's log past where the
lineage reader stopped is read here too, so the latest start is never missed.
A start's outcome is written with the continuation that carried or undid it.
A start's checkpoint copy is removed once its policy saved a later iteration
of the same life (no continuation starts from a decision older than the
workspace's newest save), and only when no start still pending names it.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime

from pbt_tracker.pbt.decisions import CARRIED, UNDONE, DecisionStart, Pending, is_restart_copy, start_value
from pbt_tracker.pbt.lineage import ProcessStart, read_lineage
from pbt_tracker.store import Store, utcnow
from pbt_tracker.store import decisions as sql
from pbt_tracker.store.history import logs_to_read

__all__ = ["clean_copies", "known_starts", "new_start_rows", "note_outcome", "remove_copies"]


def new_start_rows(submission_id: int, base_offset: int, starts: Iterable[ProcessStart], now: datetime,
                   ) -> list[sql.NewStart]:
    """The record's rows of the decisions among `starts` (those from a checkpoint), read at `base_offset`."""
    rows = []
    for start in starts:
        checkpoint = start_value(start.args, "checkpoint")
        if not checkpoint:
            continue
        event = start.event
        rows.append(sql.NewStart(
            submission_id=submission_id, policy=start.policy_idx, iteration=event.iteration if event else None,
            donor=event.donor_idx if event else None, checkpoint=checkpoint,
            experiment_name=start_value(start.args, "full_experiment_name"), args=list(start.args),
            log_offset=base_offset + start.offset, observed_at=now,
        ))
    return rows


def known_starts(connection: sqlite3.Connection, experiment_id: int, policy: int) -> list[DecisionStart]:
    """The policy's decisions in the order they happened: the record's, then those only its logs hold yet."""
    known = {(row.submission_id, row.log_offset): _decision(row.policy, row.args, row.iteration, row.donor,
                                                             (row.submission_id, row.log_offset))
             for row in sql.starts_of_experiment(connection, experiment_id) if row.policy == policy}
    for log in logs_to_read(connection, [experiment_id]):
        offset = log.log_read_offset or 0
        data = _tail(log.log_path.replace("%j", log.job_id), offset)
        for row in new_start_rows(log.id, offset, read_lineage(data).starts if data else [], utcnow()):
            if row.policy == policy:
                known.setdefault((row.submission_id, row.log_offset), DecisionStart(
                    row.policy, tuple(row.args), row.iteration, row.donor, (row.submission_id, row.log_offset)))
    return [known[key] for key in sorted(known)]


def _decision(policy: int, args: str, iteration: int | None, donor: int | None, key: tuple[int, int],
              ) -> DecisionStart:
    words = json.loads(args or "[]")
    return DecisionStart(policy, tuple(str(word) for word in words), iteration, donor, key)


def _tail(path: str, offset: int) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            return handle.read()
    except OSError:
        return None


def note_outcome(connection: sqlite3.Connection, pending: Pending | None, continuation_id: int, now: datetime) -> None:
    """Write on the start what continuation `continuation_id` did about it, the start first if only a log held it."""
    if pending is None:
        return
    start = pending.start
    submission_id, offset = start.key
    sql.insert_starts(connection, [sql.NewStart(
        submission_id=submission_id, policy=start.policy, iteration=start.iteration, donor=start.donor,
        checkpoint=start.checkpoint, experiment_name=start.experiment_name, args=list(start.args),
        log_offset=offset, observed_at=now,
    )])
    sql.set_outcome(connection, submission_id, offset, CARRIED if pending.carried else UNDONE, continuation_id,
                    pending.message, now)


def clean_copies(store: Store) -> int:
    """Remove the copies no continuation can need any more; the number of files removed."""
    with store.read() as connection:
        rows = sql.uncleaned_copies(connection)
    return _remove(store, [row for row in rows if row.superseded], rows)


def remove_copies(store: Store, launch_id: int) -> int:
    """Remove every copy a launch's starts left (a purge, once none of its jobs may run); the number removed."""
    with store.read() as connection:
        mine = sql.uncleaned_copies(connection, launch_id)
        everyone = sql.uncleaned_copies(connection)
    return _remove(store, mine, [row for row in everyone if row.id not in {m.id for m in mine}])


def _remove(store: Store, chosen: Sequence[sql.CopyRow], others: Sequence[sql.CopyRow]) -> int:
    """Removes the chosen copies but any that a start not chosen and not superseded still names."""
    chosen_ids = {row.id for row in chosen}
    needed = {row.checkpoint for row in others if row.id not in chosen_ids and not row.superseded}
    done, removed = [], 0
    for row in chosen:
        if row.checkpoint in needed:
            continue
        if is_restart_copy(row.checkpoint, row.experiment_name, row.policy):
            try:
                os.unlink(row.checkpoint)
                removed += 1
            except FileNotFoundError:
                pass
            except OSError:
                continue  # tried again at the next sync
            try:
                os.rmdir(os.path.dirname(row.checkpoint))
            except OSError:
                pass  # not empty, or gone
        done.append(row.id)
    if done:
        with store.write() as connection:
            sql.set_cleaned(connection, done, utcnow())
    return removed

