"""Selections of submissions, as squeue-style options make them: one statement, built from the options.

A selection joins each submission to its experiment, launch and script
(aliased s, e, l and sc). Each command's reading names the columns it needs,
so that a report over a year of launches reads only what it prints, and
hands its rows out as a named type: a column is tied to its field by name
here (`column_list`), and nobody outside the store counts positions.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from pbt_tracker import states
from pbt_tracker.errors import OptionError, did_you_mean
from pbt_tracker.store.names import distinct_values

if TYPE_CHECKING:
    from pbt_tracker.store.selection import Selection

Row = TypeVar("Row", bound=tuple[Any, ...])

_FROM = """
FROM submissions AS s
JOIN experiments AS e ON e.id = s.experiment_id
JOIN launches AS l ON l.id = e.launch_id
LEFT OUTER JOIN scripts AS sc ON sc.id = s.script_id"""
_LATEST = """
JOIN (SELECT experiment_id, max(attempt) AS attempt FROM submissions GROUP BY experiment_id) AS latest
    ON latest.experiment_id = s.experiment_id AND latest.attempt = s.attempt"""
# The same, asked per selected row: one index lookup each, where the join above reads every submission once.
# A selection by name or job id takes a few rows of a record that may hold a year of launches.
_LATEST_OF_FEW = "s.attempt = (SELECT max(s4.attempt) FROM submissions AS s4 WHERE s4.experiment_id = s.experiment_id)"
_ORDER = "\nORDER BY l.id, e.position, s.attempt"
# Each experiment name's current experiment: the one whose latest real (not PRINT_ONLY) submission is the
# newest; while no launch submitted the name, the newest preview's (the highest id among equals). Forgotten
# launches take no part. Asked per selected row as "no other experiment of the name ranks before it": one
# index lookup by name, which finds the row alone unless the name was launched again, where ranking every
# experiment of the record (a window over all names) took seconds over 100,000 of them.
_SENT = "coalesce((SELECT max(s3.id) FROM submissions AS s3 WHERE s3.experiment_id = {e}.id AND s3.state <> 'PRINT_ONLY'), -1)"
# A name the record holds once is current without a look: the names held more than once are listed first,
# in one pass over the names' index, and only their experiments are ranked.
_CURRENT = f"""(e.name NOT IN (SELECT name FROM experiments GROUP BY name HAVING count(*) > 1)
    OR NOT EXISTS (SELECT 1 FROM experiments AS e2 JOIN launches AS l2 ON l2.id = e2.launch_id
    WHERE e2.name = e.name AND e2.id <> e.id AND l2.forgotten_at IS NULL
        AND ({_SENT.format(e="e2")}, e2.launch_id, e2.id) > ({_SENT.format(e="e")}, e.launch_id, e.id)))"""


def marks(values: Collection[object]) -> str:
    return ", ".join("?" * len(values))


def column_list(fields: tuple[str, ...], **expressions: str) -> str:
    """The select list of a named row: each field's expression, in the order of `fields`.

    Written field by field, a column can neither go missing nor land in its
    neighbour's place when the row type changes.
    """
    if set(expressions) != set(fields):
        raise ValueError(f"columns for {sorted(set(fields) ^ set(expressions))} do not match the row's fields")
    return ", ".join(expressions[field] for field in fields)


def selection_sql(selection: Selection, columns: str) -> tuple[str, tuple[object, ...]]:
    """The selection as one statement and its parameters; `columns` names what to return from s, e, l, sc."""
    where: list[str] = []
    params: list[object] = []
    if selection.launch is not None:
        where.append("l.id = ?")
        params.append(selection.launch)
    if not selection.all_launches:
        where.append("l.forgotten_at IS NULL")
        if selection.launch is None:
            where.append(_CURRENT)
    if selection.run:
        where.append("l.run_name = ?")
        params.append(selection.run)
    if selection.experiments:
        names = list(selection.experiments)
        where.append(f"(e.name IN ({marks(names)}) OR e.base_name IN ({marks(names)}))")
        params += names + names
    if selection.job_ids:
        where.append(f"s.job_id IN ({marks(selection.job_ids)})")
        params += selection.job_ids
    if selection.states:
        where.append(f"s.state IN ({marks(selection.states)})")
        params += selection.states
    few = bool(selection.experiments or selection.job_ids)
    if not selection.all_attempts and few:
        where.append(_LATEST_OF_FEW)
    sql = f"SELECT {columns}{_FROM}" + ("" if selection.all_attempts or few else _LATEST)
    if where:
        sql += "\nWHERE " + " AND ".join(where)
    return sql + _ORDER, tuple(params)


def named_rows(rows: Iterable[tuple[Any, ...]], row_type: type[Row]) -> list[Row]:
    """Each row as `row_type`, a NamedTuple whose fields the statement's columns are, in order.

    Made in C (`tuple.__new__`), with no Python call per row: a report with
    every attempt may hold a year of launches, a sync a thousand jobs.
    """
    return list(map(partial(tuple.__new__, row_type), rows))


def selected_as(connection: sqlite3.Connection, selection: Selection, columns: str,
                row_type: type[Row]) -> list[Row]:
    """The selection's rows as `row_type`, whose fields `columns` lists (see `column_list`)."""
    sql, params = selection_sql(selection, columns)
    return named_rows(connection.execute(sql, params), row_type)


def experiment_hint(connection: sqlite3.Connection, name: str) -> str:
    """The recorded experiment (or base) name closest to a mistyped one; a bare number meant a policy, most likely."""
    hint = did_you_mean(name, [*distinct_values(connection, "experiments", ""),
                               *distinct_values(connection, "base_names", "")])
    if not hint and name.isdigit():
        hint = f" (for policy {name}, pass --policy {name})"
    return hint


def check_names_exist(connection: sqlite3.Connection, selection: Selection) -> None:
    """A name that matches nothing is a typo more often than an empty result; say so."""
    for state in selection.states:
        if state not in states.KNOWN:
            raise OptionError(f"{state} is not a job state; use one of {', '.join(sorted(states.KNOWN))}")

    def found(sql: str, *params: str) -> bool:
        return connection.execute(sql + " LIMIT 1", params).fetchone() is not None

    for name in selection.experiments:
        if not found("SELECT 1 FROM experiments WHERE name = ? OR base_name = ?", name, name):
            raise OptionError(
                f"no experiment named {name} in this workdir{experiment_hint(connection, name)}; "
                "`pbt-track report` lists the experiments"
            )
    if selection.run and not found("SELECT 1 FROM launches WHERE run_name = ?", selection.run):
        hint = did_you_mean(selection.run, distinct_values(connection, "runs", ""))
        raise OptionError(f"no run named {selection.run} in this workdir{hint}; `pbt-track report` lists the runs")
    if selection.launch is not None:
        forgotten = connection.execute("SELECT forgotten_at IS NOT NULL FROM launches WHERE id = ?",
                                       (selection.launch,)).fetchone()
        if forgotten is None:
            raise OptionError(f"no launch {selection.launch} in this workdir; `pbt-track launches` lists them")
        if forgotten[0] and not selection.all_launches:
            raise OptionError(f"launch {selection.launch} is forgotten; add --all-launches to see it")
    for job_id in selection.job_ids:
        if not found("SELECT 1 FROM submissions WHERE job_id = ?", job_id):
            raise OptionError(f"job {job_id} was not submitted from this workdir; `pbt-track report` lists the jobs")
