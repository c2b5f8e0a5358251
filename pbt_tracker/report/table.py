"""The report as a table that fits the terminal: columns shortened or dropped as squeue does, states coloured.

Pure text building: the caller says how wide the terminal is and whether it
takes colour, so that every layout can be tested on literal rows.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, NamedTuple

from pbt_tracker import states

DEFAULT = ("run", "experiment", "attempt", "job_id", "state", "exit_code", "elapsed", "node", "log")
PBT = ("policy", "iteration", "objective", "best", "params")
WIDE_EXTRA = ("reason",)

# A column's header, the row field it shows, and whether its values are right-aligned.
_FIELDS: dict[str, tuple[str, bool]] = {
    "run": ("run", False), "experiment": ("experiment", False), "attempt": ("attempt", True),
    "job_id": ("job_id", False), "state": ("state", False), "exit_code": ("exit_code", True),
    "elapsed": ("elapsed", True), "node": ("node", False), "log": ("log", False), "script": ("script", False),
    "launch_id": ("launch_id", True), "backend": ("backend", False), "reason": ("pending_reason", False),
    "submitted_at": ("submitted_at", False), "started_at": ("started_at", False), "ended_at": ("ended_at", False),
    "policy": ("pbt_policy", True), "iteration": ("pbt_iteration", True), "objective": ("pbt_objective", True),
    "best": ("pbt_best_objective", True), "params": ("pbt_params", False),
    "partition": ("partition", False), "time_limit": ("time_limit", True), "time_left": ("time_left", True),
}
COLUMNS = tuple(_FIELDS)
"""Every column `-o/--columns` may name."""

_GAP = "  "
_SHORT_CODES = {state: code for code, state in states.SHORT.items()}
_COLOURS = {
    **dict.fromkeys(states.WAITING | {states.SUBMITTING, states.SUBMITTED}, "33"),  # yellow: waiting
    **dict.fromkeys({states.RUNNING, states.COMPLETING, states.CONFIGURING}, "36"),  # cyan: running
    states.COMPLETED: "32",  # green
    states.CANCELLED: "35",  # magenta
    **dict.fromkeys({states.FAILED, states.TIMEOUT, states.OUT_OF_MEMORY, states.NODE_FAIL, states.BOOT_FAIL,
                     states.DEADLINE, states.PREEMPTED, states.SUBMIT_FAILED}, "31"),  # red: needs attention
    **dict.fromkeys({states.UNKNOWN, states.SUBMIT_UNCERTAIN}, "1;33"),  # bold yellow: look at it
}


def parse_columns(text: str) -> tuple[str, ...]:
    """`-o a,b,c` as squeue's `-o` takes a list: the names in the order given."""
    from pbt_tracker.errors import OptionError

    names = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    unknown = [name for name in names if name not in _FIELDS]
    if unknown or not names:
        raise OptionError(f"unknown column {', '.join(unknown) or '(none)'}; choose among {', '.join(COLUMNS)}")
    return names


def wants_colour(stream: Any) -> bool:
    """Colour only on a terminal, and never with NO_COLOR set (https://no-color.org)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and "NO_COLOR" not in os.environ


class Layout(NamedTuple):
    columns: tuple[str, ...]
    log_name_only: bool = False
    experiment_width: int | None = None
    short_states: bool = False  # squeue's compact codes (PD, R, CD) for Slurm's states


def field_of(column: str) -> str:
    """The report row's field a column shows (`reason` is `pending_reason`, `policy` is `pbt_policy`)."""
    return _FIELDS[column][0]


def column_fields(columns: Sequence[str]) -> list[str]:
    """The ReportRow field each `-o` column shows."""
    return [_FIELDS[column][0] for column in columns]


def cell(row: Any, column: str, layout: Layout) -> str:
    """One value as the table prints it: `-` for none, N:S for a signalled exit, `(Reason)` for a waiting job."""
    field, _ = _FIELDS[column]
    value = getattr(row, field)
    if column == "state" and getattr(row, "cancel_requested", False) and value in states.MAY_BE_ACTIVE:
        return f"{value} (cancel requested)"  # scancel accepted it, and Slurm still shows it live
    if column in _SCHEDULER_TIMES and value is not None and getattr(row, "clock_skew", None) is not None:
        return f"{value}~"
    if column == "exit_code" and value is not None and row.exit_signal is not None:
        return f"{value}:{row.exit_signal}"
    if column == "node" and value is None and row.pending_reason and row.state in states.WAITING:
        return f"({row.pending_reason})"
    if column == "state" and layout.short_states:
        return _SHORT_CODES.get(value, value)
    if value is None:
        return "-"
    if column == "log" and layout.log_name_only:
        return os.path.basename(value)
    if column == "experiment" and layout.experiment_width and len(value) > layout.experiment_width:
        return value[: layout.experiment_width - 1] + "+"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        from pbt_tracker.report.pbt import short_params

        return short_params(value) or "-"  # no hyperparameters: as for none
    return str(value)


_SCHEDULER_TIMES = ("started_at", "ended_at")


def skew_note(rows: Sequence[Any], layout: Layout) -> str:
    """The line that explains the `~` on times a table shows, when any of them is marked."""
    skews = [row.clock_skew for row in rows if row.clock_skew is not None
             and any(getattr(row, column) is not None for column in _SCHEDULER_TIMES if column in layout.columns)]
    if not skews:
        return ""
    worst = max(skews, key=abs)
    return (f"\n~ Slurm's time, by a clock seen at least {abs(worst)} s {'ahead of' if worst > 0 else 'behind'} "
            "this host's")


# Columns whose cells `cell` may write other than as their value: each of them is made by `cell` itself.
_SPECIAL = frozenset({"state", "started_at", "ended_at", "exit_code", "node", "log", "experiment"})


def column_cells(rows: Sequence[Any], column: str, layout: Layout) -> list[str]:
    """A column's cells, each exactly as `cell` writes it, made a column at a time.

    A table of thousands of rows spends its time here: a column that shows its
    values as they are skips `cell`'s questions about states, signals and widths.
    """
    if column in _SPECIAL:
        return [cell(row, column, layout) for row in rows]
    field = _FIELDS[column][0]
    cells = []
    for row in rows:
        value = getattr(row, field)
        kind = type(value)
        if value is None:
            cells.append("-")
        elif kind is str:
            cells.append(value)
        elif kind is int:
            cells.append(str(value))
        else:
            cells.append(cell(row, column, layout))
    return cells


def _widths(rows: Sequence[Any], layout: Layout, known: dict[tuple[object, ...], int] | None = None) -> list[int]:
    """Each column's width; `known` keeps them across the layouts `fit` tries, which differ in a column or two."""
    known = {} if known is None else known
    widths = []
    for column in layout.columns:
        key = (column, layout.log_name_only if column == "log" else None,
               layout.experiment_width if column == "experiment" else None,
               layout.short_states if column == "state" else None)
        if key not in known:
            known[key] = max([len(column)] + [len(value) for value in column_cells(rows, column, layout)])
        widths.append(known[key])
    return widths


def _width(rows: Sequence[Any], layout: Layout, known: dict[tuple[object, ...], int]) -> int:
    widths = _widths(rows, layout, known)
    return sum(widths) + len(_GAP) * (len(widths) - 1)


def fit(rows: Sequence[Any], columns: Sequence[str], width: int) -> Layout:
    """The first layout that fits: log file name only, run dropped when there is one run, log dropped,
    hyperparameters dropped (`show` has them), node, elapsed and attempt dropped, squeue's short state
    codes, best dropped; then job id, exit code, attempt, iteration, policy and objective, in that order,
    until it fits with experiment names cut, which are then cut as much as still needed."""
    layout = Layout(tuple(columns))
    steps = [
        lambda l: l._replace(log_name_only=True),
        lambda l: _without(l, "run") if len({row.run for row in rows}) <= 1 else l,
        lambda l: _without(l, "log"),
        lambda l: _without(l, "params"),
        lambda l: _without(l, "node"),
        lambda l: _without(l, "elapsed"),
        lambda l: _without(l, "attempt") if all(row.attempt == 1 for row in rows) else l,
        lambda l: _without(l, "run"),
        lambda l: l._replace(short_states=True),
        lambda l: _without(l, "best"),
    ]
    known: dict[tuple[object, ...], int] = {}
    for step in steps:
        if _width(rows, layout, known) <= width:
            return layout
        layout = step(layout)
    # Columns go, least telling first, until the table fits with experiment names cut to their header's length;
    # then the names are cut only as much as that still needs.
    at_least = layout._replace(experiment_width=len("experiment")) if "experiment" in layout.columns else layout
    while _width(rows, at_least, known) > width and [c for c in layout.columns if c not in _KEPT]:
        dropped = min((c for c in layout.columns if c not in _KEPT), key=lambda c: _LAST_DROPPED.get(c, -1))
        layout, at_least = _without(layout, dropped), _without(at_least, dropped)
    excess = _width(rows, layout, known) - width
    if excess > 0 and "experiment" in layout.columns:
        longest = max([len(row.experiment) for row in rows] + [len("experiment")])
        layout = layout._replace(experiment_width=max(len("experiment"), longest - excess))
    return layout


_KEPT = ("experiment", "state")  # the least a row says
_LAST_DROPPED = {column: rank for rank, column in enumerate(("job_id", "exit_code", "attempt", "iteration", "policy",
                                                               "objective"))}


def _without(layout: Layout, column: str) -> Layout:
    return layout._replace(columns=tuple(c for c in layout.columns if c != column))


def table(rows: Sequence[Any], layout: Layout, colour: bool = False) -> str:
    """Header, a rule, one line per row; numbers right-aligned, trailing spaces trimmed."""
    by_column = [column_cells(rows, column, layout) for column in layout.columns]
    widths = [max([len(column), *map(len, values)]) for column, values in zip(layout.columns, by_column)]
    right = [_FIELDS[column][1] for column in layout.columns]

    def line(values: Sequence[str], paint: dict[int, str] | None = None) -> str:
        parts = []
        for index, (value, size) in enumerate(zip(values, widths)):
            shown = f"\x1b[{paint[index]}m{value}\x1b[0m" if paint and index in paint else value
            pad = " " * (size - len(value))
            parts.append(pad + shown if right[index] else shown + pad)
        return _GAP.join(parts).rstrip()

    lines = [line(list(layout.columns)), line(["-" * size for size in widths])]
    state_at = layout.columns.index("state") if "state" in layout.columns else None
    if colour and state_at is not None:
        for row, values in zip(rows, zip(*by_column)):
            lines.append(line(values, {state_at: _COLOURS[row.state]} if row.state in _COLOURS else None))
    else:  # padded by str's own methods: the same text, without a Python step per cell
        pads = [str.rjust if right[index] else str.ljust for index in range(len(widths))]
        for values in zip(*by_column):
            lines.append(_GAP.join([pad(value, size) for pad, value, size in zip(pads, values, widths)]).rstrip())
    return "\n".join(lines) + "\n"
