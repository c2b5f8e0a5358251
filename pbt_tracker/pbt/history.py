"""The PBT history copied into the record, so it outlives IsaacGymEnvs' clean-up of old iteration files.

Each call copies what is new since the last one: iteration files whose
version (name and modification time) is not in the record yet, and the part
of each attempt's log past where the lineage reader stopped. The files are
read before the write transaction opens, so the database is locked only for
the inserts.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from pbt_tracker.pbt.lineage import read_lineage
from pbt_tracker.pbt.resume import is_pbt_command
from pbt_tracker.pbt.starts import new_start_rows
from pbt_tracker.pbt.workspace import WorkspaceEntry, find_workspace, new_entries, policy_index
from pbt_tracker.store import Store, utcnow
from pbt_tracker.store import history as sql
from pbt_tracker.store import decisions as starts_sql
from pbt_tracker.store.decisions import NewStart
from pbt_tracker.store.history import NewEvent, NewIteration, PbtExperiment

__all__ = ["Workspace", "copy_history", "pbt_workspaces"]


@dataclass
class Workspace:
    """A workspace and the experiment that runs each of its policies (the newest, if relaunched)."""

    path: Path
    experiments: dict[int, int] = field(default_factory=dict)  # policy -> experiment id


def copy_history(store: Store) -> tuple[int, int]:
    """Copy new iteration files of every PBT policy and new replacement events; (files, events) copied."""
    with store.read() as connection:
        experiments = [row for row in sql.pbt_experiments(connection) if is_pbt_command(row.cmd)]
        workspaces = pbt_workspaces(experiments)
        copied = {ws.path: sql.copied_file_keys(connection, ws.experiments.values()) for ws in workspaces}
        logs = sql.logs_to_read(connection, [row.id for row in experiments])
    now = utcnow()
    iterations = [row for ws in workspaces for row in _iteration_rows(ws, new_entries(ws.path, copied[ws.path]), now)]
    events: list[NewEvent] = []
    starts: list[NewStart] = []
    offsets: list[tuple[int, int]] = []
    for log in logs:
        start = log.log_read_offset or 0
        read = _read_log(log.id, log.log_path.replace("%j", log.job_id), start, now)
        if read is not None and (read[0] or read[2] or read[1] != start):
            events += read[0]
            starts += read[2]
            offsets.append((log.id, read[1]))
    if not iterations and not offsets:
        return 0, 0
    with store.write() as connection:
        files = sql.insert_iterations(connection, iterations)
        added = sql.insert_events(connection, events)
        starts_sql.insert_starts(connection, starts)
        for submission_id, offset in offsets:
            sql.set_log_read_offset(connection, submission_id, offset)
    return files, added


def pbt_workspaces(experiments: list[PbtExperiment]) -> list[Workspace]:
    """The existing workspaces of these PBT experiments, each once."""
    found: dict[Path, Workspace] = {}
    for row in experiments:
        policy = policy_index(json.loads(row.params or "{}") or {}, row.cmd)
        path = find_workspace(row.cmd, row.train_dir, row.cwd)
        if policy is None or path is None:
            continue
        path = Path(os.path.abspath(path))
        found.setdefault(path, Workspace(path)).experiments[policy] = row.id
    return list(found.values())


def _iteration_rows(workspace: Workspace, entries: list[WorkspaceEntry], now: datetime) -> list[NewIteration]:
    """A row per entry, under the experiment of the policy whose directory holds it (best copies: the keeper)."""
    rows = []
    for entry in entries:
        holder = entry.policy_idx if entry.kept_by is None else entry.kept_by
        experiment_id = workspace.experiments.get(holder)
        if experiment_id is None:
            continue
        record = entry.record
        rows.append(NewIteration(
            experiment_id=experiment_id, policy=entry.policy_idx, iteration=record.iteration,
            true_objective=record.true_objective, frame=record.frame,
            experiment_name=record.experiment_name, params=record.params,
            checkpoint=os.path.abspath(entry.path.with_suffix(".pth")), file_key=entry.key,
            file_mtime=datetime.fromtimestamp(entry.mtime_ns / 1e9, timezone.utc).replace(tzinfo=None),
            observed_at=now,
        ))
    return rows


def _read_log(submission_id: int, path: str, offset: int, now: datetime,
              ) -> tuple[list[NewEvent], int, list[NewStart]] | None:
    """The events past `offset` in the log, where to read next, and the decisions' starts; None when the log has
    nothing new."""

    try:
        with open(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_size <= offset:
                return None
            handle.seek(offset)
            data = handle.read()
    except OSError:
        return None
    lineage = read_lineage(data)
    rows = []
    for event in lineage.events:
        end = data.find(b"\n", event.offset)
        rows.append(NewEvent(
            submission_id=submission_id, policy=event.policy_idx, donor=event.donor_idx,
            iteration=event.iteration, checkpoint=event.checkpoint, log_offset=offset + event.offset,
            line=data[event.offset:end].decode("utf-8", "replace").rstrip("\r"), observed_at=now,
        ))
    return rows, offset + lineage.offset, new_start_rows(submission_id, offset, lineage.starts, now)
