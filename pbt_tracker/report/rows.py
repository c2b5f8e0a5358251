"""Reports: the record queried into rows, and rows rendered as a table, JSON or CSV.

`pbt-track report` is run often and by hand, so it reads with the standard
library's sqlite3 and imports the other modules only when the options ask
for them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from pbt_tracker.store import Store, queries, utcnow
from pbt_tracker.store.times import iso_text, iso_utc
from pbt_tracker.store.report import ReportRecord, report_records
from pbt_tracker.store.selection import Selection

if TYPE_CHECKING:
    from pbt_tracker.report.pbt import PbtProgress
    from pbt_tracker.store.history import PolicyIteration

FORMATS = ("table", "json", "csv")


class ReportRow(NamedTuple):
    """One row of a report; a named tuple, since a JSON report of a long record builds one per submission."""

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
    exit_signal: int | None = None
    pending_reason: str | None = None
    cancel_requested: bool = False  # scancel accepted the job; its state is still Slurm's word
    clock_skew: int | None = None  # seconds, at least, by which Slurm's clock was seen off this host's
    pbt_policy: int | None = None
    pbt_iteration: int | None = None
    pbt_objective: float | None = None
    pbt_best_objective: float | None = None
    pbt_population_best: float | None = None
    pbt_params: dict[str, object] | None = None
    partition: str | None = None
    time_limit: str | None = None
    time_left: str | None = None


# The fields that may hold a mapping, which CSV writes as JSON text: only they are looked into, row by row.
MAPPINGS = ("pbt_params",)
_NO_PBT = (None,) * sum(field.startswith("pbt_") for field in ReportRow._fields)


def report_rows(store: Store, selection: Selection, pbt: bool = False) -> list[ReportRow]:
    """Rows of the selection; with `pbt`, each PBT policy's progress from the record's copied history.

    A policy with no history on record yet (nobody copied it) is read from its workspace.
    """
    with reading_rows(store, selection, pbt) as rows:
        return list(rows)


@contextmanager
def reading_rows(store: Store, selection: Selection, pbt: bool = False) -> Iterator[Iterator[ReportRow]]:
    """report_rows' rows, each made as the record's cursor gives it, inside one read of the record.

    A JSON or CSV report of a year of launches writes them as they come and holds
    a chunk of them at a time.
    """
    now = utcnow()
    history: dict[int, list[PolicyIteration]] = {}
    with store.read() as connection:
        queries.check_names_exist(connection, selection)
        records: Iterable[ReportRecord] = report_records(connection, selection, pbt)
        if pbt:
            from pbt_tracker.store.history import iterations_of_launches

            records = list(records)
            for row in iterations_of_launches(connection, {record.launch_id for record in records}):
                history.setdefault(row.launch_id, []).append(row)
        yield _made(records, history if pbt else None, now)


def _made(records: Iterable[ReportRecord], history: dict[int, list[PolicyIteration]] | None,
          now: datetime) -> Iterator[ReportRow]:
    parse, new = datetime.fromisoformat, tuple.__new__
    for record in records:
        started_at, ended_at, started, elapsed = record.started_at, record.ended_at, None, None
        if started_at is not None:
            started = parse(started_at)
            elapsed = _elapsed(started, parse(ended_at) if ended_at else None, now, record.clock_skew)
        row = new(ReportRow, (  # in the order of ReportRow's fields, the PBT ones left at None: made in C
            record.run, record.experiment, record.attempt, record.job_id, record.state, record.exit_code, elapsed,
            record.node, log_file(record.log_path, record.job_id), record.script, record.launch_id, record.backend,
            iso_text(record.submitted_at), iso_text(started_at), iso_text(ended_at), record.exit_signal,
            record.pending_reason, record.cancel_requested_at is not None, record.clock_skew) + _NO_PBT + (
            record.partition, record.time_limit,
            time_left(record.time_limit, record.state, started, now) if record.time_limit else None))
        yield row._replace(**_record_progress(history, record)) if history is not None else row


def _record_progress(history: dict[int, list[PolicyIteration]], record: ReportRecord) -> PbtProgress:
    """--pbt's values for a record read with its experiment's workspace columns."""
    assert record.cmd is not None and record.train_dir is not None and record.experiment_id is not None
    return pbt_progress(history.get(record.launch_id, []), record.params, record.cmd, record.train_dir, record.cwd,
                        record.experiment_id)


def needs_sync(store: Store) -> bool:
    """Whether any submission may still change, so that a sync could have something to ask about."""
    from pbt_tracker.backends import unfollowed

    with store.read() as connection:
        return queries.may_change(connection, unfollowed())


def pbt_progress(history: list[PolicyIteration], params: str | None, cmd: str, train_dir: str, cwd: str | None,
                 experiment_id: int) -> PbtProgress:
    import json

    from pbt_tracker.pbt.workspace import find_workspace, policy_index, read_policy_progress
    from pbt_tracker.report.pbt import progress_from_history

    policy = policy_index(json.loads(params or "{}") or {}, cmd)
    recorded = progress_from_history(history, experiment_id, policy) if policy is not None else None
    if recorded is not None:
        return {"pbt_policy": policy, **recorded}
    workspace = find_workspace(cmd, train_dir, cwd) if policy is not None else None
    if workspace is None or policy is None:  # no policy, no workspace
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


def _elapsed(started: datetime | None, ended: datetime | None, now: datetime, skew: int | None = None) -> str | None:
    """A running job's start is by the scheduler's clock: `now` is moved onto that clock by the skew seen."""
    if started is None:
        return None
    if ended is None and skew is not None:
        now += timedelta(seconds=skew)
    seconds = max(0, int(((ended or now) - started).total_seconds()))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def time_left(limit: str | None, state: str, started: datetime | None, now: datetime) -> str | None:
    """What is left of the job's time limit, as squeue's TimeLeft prints it: all of it while it waits,
    the rest while it runs, nothing once it ended or when it has no limit."""
    from pbt_tracker import states

    seconds = limit_seconds(limit)
    if seconds is None or state in states.FINAL:
        return None
    if started is not None and state not in states.WAITING:
        seconds = max(0, seconds - int((now - started).total_seconds()))
    return slurm_duration(seconds)


def limit_seconds(limit: str | None) -> int | None:
    """Seconds of a time limit as squeue and sacct print it (30:00, 2:00:00, 1-00:00:00, 1-12); None for
    UNLIMITED or anything else."""
    if not limit:
        return None
    days, _, clock = limit.strip().rpartition("-")
    parts = clock.split(":")
    if not (days == "" or days.isdigit()) or not all(part.isdigit() for part in parts) or len(parts) > 3:
        return None
    numbers = [int(part) for part in parts]
    if days:  # D-HH, D-HH:MM, D-HH:MM:SS
        hours, minutes, seconds = (numbers + [0, 0])[:3]
    else:  # MM, MM:SS, HH:MM:SS
        hours, minutes, seconds = ([0, 0] + numbers)[-3:] if len(numbers) == 3 else (0, *(numbers + [0])[:2])
    return int(days or 0) * 86400 + hours * 3600 + minutes * 60 + seconds


def slurm_duration(seconds: int) -> str:
    """Slurm's [D-]H:MM:SS (1-02:03:04, 2:03:04)."""
    days, rest = divmod(seconds, 86400)
    clock = f"{rest // 3600}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    return f"{days}-{clock.zfill(8)}" if days else clock


iso_time = iso_utc


def summary_line(rows: list[ReportRow], all_attempts: bool = False) -> str:
    counts = Counter(row.state for row in rows)
    noun = ("attempt" if all_attempts else "experiment") + ("" if len(rows) == 1 else "s")
    parts = ", ".join(f"{count} {state}" for state, count in sorted(counts.items()))
    return f"{len(rows)} {noun}" + (f": {parts}" if parts else "")


def keeper_apart(rows: list[ReportRow], run: str | None) -> tuple[list[ReportRow], list[ReportRow]]:
    """The experiments' rows, and the keeper job's (run pbt-track-keeper): it keeps them, it is not one of them.

    Asked for by `--run pbt-track-keeper`, its rows are the report's rows.
    """
    from pbt_tracker.store.keeper import KEEPER_RUN

    if run == KEEPER_RUN:
        return rows, []
    return [row for row in rows if row.run != KEEPER_RUN], [row for row in rows if row.run == KEEPER_RUN]


def keeper_rows_apart(rows: Iterable[ReportRow], run: str | None) -> Iterable[ReportRow]:
    """keeper_apart's experiments' rows, taken as they come."""
    from pbt_tracker.store.keeper import KEEPER_RUN

    return rows if run == KEEPER_RUN else (row for row in rows if row.run != KEEPER_RUN)


def keeper_job_line(keeper: list[ReportRow]) -> str:
    """`keeper job 869 RUNNING (attempt 3)`: the keeper's latest attempt, below the experiments' table."""
    if not keeper:
        return ""
    latest = max(keeper, key=lambda row: (row.launch_id, row.attempt))
    return (f"keeper job {latest.job_id or '-'} {latest.state} (attempt {latest.attempt}; "
            f"--run {latest.run} shows it)\n")


def wrapped(text: str, width: int | None) -> str:
    """Lines below a table kept within the table's width; a line that goes on is indented."""
    if width is None:
        return text
    import textwrap

    return "".join(
        textwrap.fill(line, width, subsequent_indent="    ", break_on_hyphens=False) + "\n" if line else "\n"
        for line in text.splitlines()
    )


def render(rows: list[ReportRow], output_format: str, all_attempts: bool = False, pbt: bool = False,
           columns: tuple[str, ...] | None = None, width: int | None = None, colour: bool = False) -> str:
    """The rows as a table: `columns` as asked, or the default ones fitted to `width`
    (all of them at full length when `width` is None). JSON and CSV are written by report.stream.write_report."""
    from pbt_tracker.report import table as report_table

    best = ""
    if pbt:
        rows, best = by_objective(rows)
    if columns:
        layout = report_table.Layout(columns)
    else:
        default = report_table.DEFAULT[:-1] + (report_table.PBT if pbt else ()) + report_table.DEFAULT[-1:]
        if width is None:
            layout = report_table.Layout(default + report_table.WIDE_EXTRA)
        else:
            layout = report_table.fit(rows, default, width)
    skewed = report_table.skew_note(rows, layout)
    return report_table.table(rows, layout, colour) + wrapped(summary_line(rows, all_attempts) + best + skewed + "\n",
                                                              width)


def by_objective(rows: list[ReportRow]) -> tuple[list[ReportRow], str]:
    """The population at a glance: policies best first, the best one's number marked `*` in the table.

    Only the table is reordered; JSON and CSV keep the record's order for scripts.
    """
    ranked = sorted(rows, key=lambda row: (row.pbt_objective is None, -(row.pbt_objective or 0.0)))
    if not ranked or ranked[0].pbt_objective is None:
        return ranked, ""
    top = ranked[0]
    marked = top._replace(pbt_policy=f"{top.pbt_policy}*")  # type: ignore[arg-type]  # shown, not stored
    return [marked, *ranked[1:]], f"\nbest: policy {top.pbt_policy} ({top.experiment}), objective {top.pbt_objective:.4g}"
