"""Reports: the record queried into rows, and rows rendered as a table, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime

from pbt_tracker.store import Store
from pbt_tracker.store.models import utcnow
from pbt_tracker.tracker.selection import Selection, check_names_exist, selected_rows

FORMATS = ("table", "json", "csv")

TABLE_COLUMNS = ("run", "experiment", "attempt", "job_id", "state", "exit_code", "elapsed", "node", "log")


@dataclass(frozen=True)
class ReportRow:
    run: str
    experiment: str
    attempt: int
    job_id: str | None
    state: str
    exit_code: int | None
    elapsed: str | None
    node: str | None
    log: str | None
    script: str | None
    launch_id: int
    backend: str
    submitted_at: str | None
    started_at: str | None
    ended_at: str | None
    pbt_policy: int | None = None
    pbt_iteration: int | None = None
    pbt_objective: float | None = None
    pbt_best_objective: float | None = None


PBT_COLUMNS = ("pbt_policy", "pbt_iteration", "pbt_objective", "pbt_best_objective")


def report_rows(store: Store, selection: Selection, pbt: bool = False) -> list[ReportRow]:
    """Rows of the selection; with `pbt`, each PBT policy's progress read from its workspace."""
    now = utcnow()
    with store.transaction() as session:
        check_names_exist(session, selection)
        return [
            ReportRow(
                **(_pbt_progress(experiment, launch) if pbt else {}),
                run=launch.run_name,
                experiment=experiment.name,
                attempt=submission.attempt,
                job_id=submission.job_id,
                state=submission.state,
                exit_code=submission.exit_code,
                elapsed=_elapsed(submission.started_at, submission.ended_at, now),
                node=submission.node,
                log=log_file(submission.log_path, submission.job_id),
                script=script.path if script else None,
                launch_id=launch.id,
                backend=launch.backend,
                submitted_at=_iso(submission.submitted_at),
                started_at=_iso(submission.started_at),
                ended_at=_iso(submission.ended_at),
            )
            for submission, experiment, launch, script in session.execute(selected_rows(selection))
        ]


def _pbt_progress(experiment, launch) -> dict[str, object]:  # type: ignore[no-untyped-def]
    from pbt_tracker.pbt_workspace import find_workspace, policy_index, read_policy_progress

    policy = policy_index(experiment.params or {}, experiment.cmd)
    workspace = find_workspace(experiment.cmd, experiment.train_dir, launch.cwd) if policy is not None else None
    if workspace is None:
        return {"pbt_policy": policy}
    progress = read_policy_progress(workspace, policy)
    return {
        "pbt_policy": policy,
        "pbt_iteration": progress.latest_iteration,
        "pbt_objective": progress.latest_objective,
        "pbt_best_objective": progress.best_objective,
    }


def log_file(pattern: str | None, job_id: str | None) -> str | None:
    """The job's log: Slurm's %j in the --output pattern becomes the job id."""
    if pattern is None or job_id is None:
        return None
    return pattern.replace("%j", job_id)


def _elapsed(started: datetime | None, ended: datetime | None, now: datetime) -> str | None:
    if started is None:
        return None
    seconds = max(0, int(((ended or now) - started).total_seconds()))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") + "Z" if moment else None


def summary_line(rows: list[ReportRow], all_attempts: bool = False) -> str:
    counts = Counter(row.state for row in rows)
    noun = ("attempt" if all_attempts else "experiment") + ("" if len(rows) == 1 else "s")
    parts = ", ".join(f"{count} {state}" for state, count in sorted(counts.items()))
    return f"{len(rows)} {noun}" + (f": {parts}" if parts else "")


def render(rows: list[ReportRow], output_format: str, all_attempts: bool = False, pbt: bool = False) -> str:
    if output_format == "json":
        return json.dumps([asdict(row) for row in rows], indent=2) + "\n"
    if output_format == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(ReportRow.__dataclass_fields__), lineterminator="\n")
        writer.writeheader()
        writer.writerows(asdict(row) for row in rows)
        return buffer.getvalue()
    from tabulate import tabulate

    columns = TABLE_COLUMNS[:-1] + (("policy", "iteration", "objective", "best") if pbt else ()) + TABLE_COLUMNS[-1:]
    fields = TABLE_COLUMNS[:-1] + (PBT_COLUMNS if pbt else ()) + TABLE_COLUMNS[-1:]
    table = [[getattr(row, field) for field in fields] for row in rows]
    return tabulate(table, headers=columns, missingval="-", floatfmt=".4g") + "\n" + summary_line(rows, all_attempts) + "\n"
