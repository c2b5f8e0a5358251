"""The launches of a workdir: listing them, and forgetting the ones a user is done with.

Forgetting hides a launch from every command but `--all-launches` and
deletes nothing; purging deletes its record, and only once none of its jobs
may still run, so that no running job ever drops out of the record. An
attempt a scheduler accepted without a job id pbt-track could read (an NGC
answer it could not parse) can never be settled by a sync: it stops counting
only when the user, having checked with the scheduler's own tools, says so
(`unidentified_ended`).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from pbt_tracker import backends
from pbt_tracker.errors import OptionError, PbtTrackError
from pbt_tracker.states import SHORT
from pbt_tracker.store import Store, utcnow, writes
from pbt_tracker.store import launches as record
from pbt_tracker.store.connection import parse_time
from pbt_tracker.store.times import iso_utc


@dataclass(frozen=True)
class LaunchSummary:
    id: int
    created_at: str
    run: str
    backend: str
    host: str | None
    experiments: int
    states: str  # "2 FAILED, 1 RUNNING": the latest attempt of each experiment
    print_only: bool
    forgotten: bool


def list_launches(store: Store, include_forgotten: bool = False) -> list[LaunchSummary]:
    with store.read() as connection:
        rows = record.launch_summaries(connection, include_forgotten)
    summaries = []
    for row in rows:
        counts = [pair.split("=") for pair in (row.states or "").split(",") if pair]
        created = parse_time(row.created_at)
        summaries.append(LaunchSummary(
            row.id, iso_utc(created) or "-", row.run_name,
            row.backend, row.hostname, row.experiments, ", ".join(f"{n} {state}" for state, n in counts),
            bool(row.print_only), row.forgotten_at is not None,
        ))
    return summaries


def render_launches(summaries: list[LaunchSummary], include_forgotten: bool = False, width: int | None = None) -> str:
    """One line per launch, fitted to `width` as `report` is: columns that say nothing here go first (print_only
    when no launch is a preview, host and backend when all are the same), then they go anyway; then states
    in squeue's short codes, then run names and states are cut."""
    columns: dict[str, list[str]] = {
        "launch": [str(s.id) for s in summaries], "created": [s.created_at for s in summaries],
        "run": [s.run for s in summaries], "backend": [s.backend for s in summaries],
        "host": [s.host or "-" for s in summaries], "experiments": [str(s.experiments) for s in summaries],
        "states": [s.states or "-" for s in summaries],
        "print_only": ["yes" if s.print_only else "no" for s in summaries],
    }
    if include_forgotten:
        columns["forgotten"] = ["yes" if s.forgotten else "no" for s in summaries]
    drops = [
        ("print_only", not any(s.print_only for s in summaries)), ("host", len(set(columns["host"])) <= 1),
        ("backend", len(set(columns["backend"])) <= 1), ("print_only", True), ("host", True), ("backend", True),
    ]
    for name, needless in drops:
        if width is None or _width(columns) <= width:
            break
        if needless:
            columns.pop(name, None)
    if width is not None and _width(columns) > width:  # squeue's short codes: 2 CD, 1 F
        codes = {state: code for code, state in SHORT.items()}
        columns["states"] = [", ".join(f"{n} {codes.get(state, state)}" for n, state in
                                       (part.split(" ", 1) for part in text.split(", "))) if text != "-" else text
                             for text in columns["states"]]
    for name in ("run", "states"):
        if width is not None and _width(columns) > width:
            longest = max(map(len, columns[name] + [name]))
            keep = max(len(name), longest - (_width(columns) - width))
            columns[name] = [value if len(value) <= keep else value[: keep - 1] + "+" for value in columns[name]]
    noun = "launch" if len(summaries) == 1 else "launches"
    return _plain_table(columns, right={"launch", "experiments"}) + f"{len(summaries)} {noun}\n"


def _width(columns: dict[str, list[str]]) -> int:
    return sum(max(map(len, [name, *values])) for name, values in columns.items()) + 2 * (len(columns) - 1)


def _plain_table(columns: dict[str, list[str]], right: set[str]) -> str:
    widths = {name: max(map(len, [name, *values])) for name, values in columns.items()}

    def line(cells: list[tuple[str, str]]) -> str:
        return "  ".join(value.rjust(widths[name]) if name in right else value.ljust(widths[name])
                         for name, value in cells).rstrip() + "\n"

    rows = zip(*columns.values()) if columns else iter(())
    return (line([(name, name) for name in columns]) + line([(name, "-" * widths[name]) for name in columns])
            + "".join(line(list(zip(columns, row))) for row in rows))


@dataclass(frozen=True)
class Forgotten:
    run: str
    experiments: int
    live: int  # submissions that may still run
    already: bool
    backend: str = ""
    unidentified: int = 0  # of the live ones: accepted without a job id pbt-track could read


def check_launch_exists(store: Store, launch_id: int) -> None:
    """On the record as it is, before a sync writes to it: a launch number that names nothing is a typo."""
    with store.read() as connection:
        _existing(connection, launch_id)


def forget_launch(store: Store, launch_id: int) -> Forgotten:
    with store.write() as connection:
        launch = _existing(connection, launch_id)
        summary = _summary(connection, launch)
        if not summary.already:
            writes.forget_launch(connection, launch_id, utcnow())
    return summary


def describe_for_purge(store: Store, launch_id: int, unidentified_ended: bool = False) -> Forgotten:
    """What purging would delete; refused before anything is asked while a job of it may still run."""
    with store.read() as connection:
        summary = _summary(connection, _existing(connection, launch_id))
    _refuse_live(launch_id, summary, unidentified_ended)
    return summary


def purge_launch(store: Store, launch_id: int, unidentified_ended: bool = False) -> None:
    """Its record goes, and the PBT restart copies its policies left with it (nothing else on disk)."""
    from pbt_tracker.pbt.starts import remove_copies

    with store.read() as connection:
        _refuse_live(launch_id, _summary(connection, _existing(connection, launch_id)), unidentified_ended)
    remove_copies(store, launch_id)  # no job of it may run, so no continuation of it needs them
    with store.write() as connection:
        _refuse_live(launch_id, _summary(connection, _existing(connection, launch_id)), unidentified_ended)
        writes.delete_launch(connection, launch_id)


def _summary(connection: sqlite3.Connection, launch: record.Launch) -> Forgotten:
    return Forgotten(launch.run_name, _experiment_count(connection, launch.id),
                     record.launch_live_count(connection, launch.id), launch.forgotten_at is not None,
                     launch.backend, record.launch_unidentified_count(
                         connection, launch.id, uncertain_too=not _settles_lost_answers(launch.backend)))


def _settles_lost_answers(backend: str) -> bool:
    try:
        return backends.get(backend).settles_lost_answers
    except PbtTrackError:
        return True  # a backend the registry lacks: count only what it accepted, as before


def _refuse_live(launch_id: int, summary: Forgotten, unidentified_ended: bool) -> None:
    """Each kind of live submission with the one step that settles it: a cancel, or the user's word."""
    others = summary.live - summary.unidentified
    if others:
        raise OptionError(
            f"launch {launch_id} has {others} submission(s) that may still run; cancel them first "
            f"(`pbt-track cancel --launch {launch_id} --all-launches`), then purge"
        )
    if summary.unidentified and not unidentified_ended:
        raise OptionError(
            f"launch {launch_id} has {summary.unidentified} submission(s) accepted without a job id pbt-track "
            "could read, so it cannot tell whether they still run; check with the scheduler's own tools (NGC: "
            "`ngc batch list`) that they have ended, then purge with --unidentified-ended"
        )


def _existing(connection: sqlite3.Connection, launch_id: int) -> record.Launch:
    launch = record.launch(connection, launch_id)
    if launch is None:
        raise OptionError(f"no launch {launch_id} in this workdir; `pbt-track launches` lists them")
    return launch


def _experiment_count(connection: sqlite3.Connection, launch_id: int) -> int:
    return len(record.launch_experiment_names(connection, launch_id))
