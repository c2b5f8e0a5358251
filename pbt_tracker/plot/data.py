"""What a plot of a PBT population shows, worked out from the record's rows before anything is drawn.

A policy's history is not one line: a policy started over (without
``++pbt_restart=True``) begins again at iteration 0 under a new experiment
name while its earlier life stays on record, so each life is a line of its
own, and where a later life begins is marked as a restart. Replacements (the
policy took a donor's weights) come from the lines its log printed, and an
attempt (a resubmission) starts where the first iteration written after its
start is: the iteration files know nothing of either. A policy sent its
original command again under the same name (`resubmit-failed --from-scratch`,
a continuation with no checkpoint yet) writes its first iteration again: that
too begins a new life.

How an attempt ended (a crash, a cancel) and what the keeper decided are
moments, not iterations: each is marked on the last point the policy had
written by then, and on a time axis at the moment itself.

Times are compared as the record writes them (``YYYY-MM-DD HH:MM:SS.ffffff``,
UTC), which sorts like the times themselves; a time axis counts seconds since
the epoch.
"""

from __future__ import annotations

import operator
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from operator import itemgetter
from typing import Any, NamedTuple

from pbt_tracker import states
from pbt_tracker.plot.kinds import (
    ATTEMPT,
    CANCEL,
    COUNTED_AS,
    CRASH,
    KEEPER,
    LEGEND,
    REPLACEMENT,
    RESTART,
    UNDONE,
)
from pbt_tracker.store.plot import IterationRow

__all__ = [
    "ATTEMPT", "CANCEL", "COUNTED_AS", "CRASH", "KEEPER", "LEGEND", "REPLACEMENT", "RESTART", "UNDONE", "X_AXES",
    "Attempt", "Decision", "IterationRow", "Line", "Mark", "PlotData", "PolicyPlot", "Replacement", "legend_labels", "policy_plot", "seconds",
]

X_AXES = ("iteration", "frame", "time")
_EPOCH = datetime(1970, 1, 1)  # naive, as the record's UTC times are
CRASHED = frozenset({states.FAILED, states.OUT_OF_MEMORY, states.NODE_FAIL})  # BOOT_FAIL never ran


def _field(name: str) -> itemgetter[Any]:
    """A getter of IterationRow's field `name`, by its index: a long history is read field by field, row by row."""
    return itemgetter(IterationRow._fields.index(name))


_ITERATION, _FRAME, _OBJECTIVE = _field("iteration"), _field("frame"), _field("objective")
_LIFE, _WRITTEN_AT = _field("life"), _field("written_at")


class Replacement(NamedTuple):
    """The policy restarted from `donor`'s weights after `iteration`; `attempt_started_at` is when its attempt began."""

    donor: int | None
    iteration: int | None
    attempt_started_at: str | None
    undone: bool = False  # a continuation did not carry it: the policy went on from before it


class Attempt(NamedTuple):
    attempt: int
    started_at: str | None
    state: str | None = None
    ended_at: str | None = None
    time_limited: bool = False  # FAILED 124 under a template that runs the command under `timeout`: no crash


class Decision(NamedTuple):
    """One of the keeper's decisions about the policy: `action` (resume, give-up, ...) at `decided_at`."""

    decided_at: str
    action: str


@dataclass(frozen=True)
class Line:
    """One life of one policy: its objective at each iteration (or frame)."""

    label: str
    life: int  # 1 for the policy's first life
    xs: list[float]
    ys: list[float]
    breaks: tuple[int, ...] = ()  # on a time axis, the points where a later attempt picks the line up again


@dataclass(frozen=True)
class Mark:
    kind: str  # a key of LEGEND
    label: str  # the policy's
    x: float
    y: float
    note: str  # "from 3", "attempt 2", "life 2", "attempt 1 FAILED", "resume"
    since: float | None = None  # on a time axis, a moment's: where the point it belongs to is, left of it


@dataclass
class PolicyPlot:
    label: str
    lines: list[Line] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)


@dataclass
class PlotData:
    title: str
    x_axis: str
    policies: list[PolicyPlot]

    @property
    def marks(self) -> list[Mark]:
        return [mark for policy in self.policies for mark in policy.marks]


def legend_labels(marks: Iterable[Mark]) -> list[tuple[str, str]]:
    """(kind, label) of each kind of mark the plot holds, in LEGEND's order: a kind with no mark has no entry."""
    present = {mark.kind for mark in marks}
    return [(kind, label) for kind, label in LEGEND.items() if kind in present]


def seconds(recorded: str) -> float:
    """A time as the record writes it (UTC), in seconds since the epoch: where a time axis puts it."""
    return (datetime.fromisoformat(recorded) - _EPOCH).total_seconds()  # a sixth of .timestamp()'s cost, per point


def _time(row: IterationRow) -> float:
    return seconds(row.written_at)


def _times(rows: list[IterationRow]) -> list[float]:
    """`_time` of each row, with no Python call per row: a line on a time axis may have 10,000 points."""
    parse, epoch = datetime.fromisoformat, _EPOCH
    return [(parse(written) - epoch).total_seconds() for written in map(_WRITTEN_AT, rows)]


def policy_plot(label: str, policy: int, rows: Iterable[IterationRow], replacements: Sequence[Replacement] = (),
                attempts: Sequence[Attempt] = (), x_axis: str = "iteration",
                decisions: Sequence[Decision] = ()) -> PolicyPlot:
    """A policy's lines (one per life) and marks; rows without an objective, or without a frame on a frame axis, are left out.

    A replacement by the policy itself (only its hyperparameters were
    mutated) is not marked, nor is the first attempt: the line's start is it.
    A replacement or mutation that a continuation undid is marked as undone
    instead, never as made.
    """
    x: Callable[[IterationRow], float | None]
    if x_axis == "frame":
        x, usable = _FRAME, [row for row in rows if row.objective is not None and row.frame is not None]
    else:
        x = _time if x_axis == "time" else _ITERATION
        usable = [row for row in rows if row.objective is not None and row.iteration is not None]
    usable.sort(key=_WRITTEN_AT)  # stable: rows written the same microsecond keep their order
    plot = PolicyPlot(label)
    if not usable:
        return plot
    lives = _lives(usable)
    if x_axis == "time":  # a time axis runs in the order written, whatever the iterations say
        lives = [sorted(life, key=_WRITTEN_AT) for life in lives]
    for number, life in enumerate(lives, start=1):
        breaks = _breaks(life, attempts) if x_axis == "time" else ()
        xs = _times(life) if x_axis == "time" else list(map(x, life))
        plot.lines.append(Line(label, number, xs, list(map(_OBJECTIVE, life)), breaks))
        if number > 1:
            plot.marks.append(_mark(RESTART, label, life[0], x, f"life {number}"))
    replacements = [r for r in replacements if (r.donor != policy or r.undone) and r.iteration is not None]
    wanted = {replacement.iteration for replacement in replacements}
    by_iteration: dict[int | None, list[IterationRow]] = {}
    for row in usable if wanted else ():
        if row.iteration in wanted:
            by_iteration.setdefault(row.iteration, []).append(row)
    for replacement in replacements:
        replaced = _row_of_replacement(by_iteration.get(replacement.iteration, []), replacement.attempt_started_at)
        if replaced is not None and replacement.undone:
            what = "mutation" if replacement.donor == policy else f"from {replacement.donor}"
            plot.marks.append(_mark(UNDONE, label, replaced, x, f"{what} undone"))
        elif replaced is not None:
            plot.marks.append(_mark(REPLACEMENT, label, replaced, x, f"from {replacement.donor}"))
    written = [row.written_at for row in usable]
    for attempt in attempts:
        if attempt.attempt < 2 or attempt.started_at is None:
            continue
        first = bisect_left(written, attempt.started_at)
        if first < len(usable):
            plot.marks.append(_mark(ATTEMPT, label, usable[first], x, f"attempt {attempt.attempt}"))
    plot.marks += _moment_marks(label, lives, x if x_axis != "time" else None, _ends(attempts), decisions)
    return plot


def _ends(attempts: Sequence[Attempt]) -> list[tuple[str, str, str]]:
    """(kind, ended at, note) of each attempt that crashed or was cancelled and has its end on record."""
    ends = []
    for attempt in attempts:
        crashed = attempt.state in CRASHED and not attempt.time_limited
        kind = CANCEL if attempt.state == states.CANCELLED else CRASH if crashed else None
        if kind is not None and attempt.ended_at is not None:
            ends.append((kind, attempt.ended_at, f"attempt {attempt.attempt} {attempt.state}"))
    return ends


def _moment_marks(label: str, lives: list[list[IterationRow]], x: Callable[[IterationRow], float | None] | None,
                  ends: list[tuple[str, str, str]], decisions: Sequence[Decision]) -> list[Mark]:
    """Marks of moments, each on the last drawn point written by then; on a time axis (`x` None) at the moment.

    A moment before the policy's first point has nothing to sit on and is not marked.
    """
    drawn = sorted((row for life in lives for row in life), key=_WRITTEN_AT)
    written = [row.written_at for row in drawn]
    moments = ends + [(KEEPER, decision.decided_at, decision.action) for decision in decisions]
    marks = []
    for kind, moment, note in moments:
        index = bisect_right(written, moment) - 1
        if index < 0:
            continue
        objective = drawn[index].objective
        assert objective is not None  # drawn rows are usable rows
        at = seconds(moment) if x is None else x(drawn[index])
        assert at is not None
        since = seconds(drawn[index].written_at) if x is None else None
        marks.append(Mark(kind, label, float(at), float(objective), note, since))
    return marks


def _breaks(life: list[IterationRow], attempts: Sequence[Attempt]) -> tuple[int, ...]:
    """Where, in a life in the order written, a later attempt's first point is: the line is not drawn across the
    time the policy lay crashed, cancelled or queued."""
    written = [row.written_at for row in life]
    found = {bisect_left(written, attempt.started_at) for attempt in attempts
             if attempt.attempt >= 2 and attempt.started_at is not None}
    return tuple(sorted(index for index in found if 0 < index < len(life)))


def _lives(rows: list[IterationRow]) -> list[list[IterationRow]]:
    """Rows (in the order written) grouped by experiment name and split where a policy wrote its first iteration
    again, in the order each life began; one row per iteration."""
    by_name: dict[str | None, list[IterationRow]] = {}
    for name, life in groupby(rows, key=_LIFE):
        by_name.setdefault(name, []).extend(life)
    lives = [life for named in by_name.values() for life in _started_over(named)]
    lives.sort(key=lambda life: life[0].written_at)  # stable: lives begun the same microsecond keep their order
    return [_one_per_iteration(life) for life in lives]


def _started_over(life: list[IterationRow]) -> list[list[IterationRow]]:
    """A life's rows (in the order written) split where an iteration at or before its first one comes after later
    ones: the policy started over under the same name. A resume from an older checkpoint writes later iterations."""
    iterations = list(map(_ITERATION, life))
    if all(map(operator.lt, iterations, iterations[1:])):  # written in order, each once: the usual case
        return [life]
    lives = [[life[0]]]
    first = highest = life[0].iteration
    for row in life[1:]:
        if row.iteration <= first < highest:
            lives.append([row])
            first = highest = row.iteration
        else:
            lives[-1].append(row)
            highest = max(highest, row.iteration)
    return lives


def _one_per_iteration(life: list[IterationRow]) -> list[IterationRow]:
    """The life's rows by iteration; of an iteration written twice, the later version."""
    iterations = list(map(_ITERATION, life))
    if all(map(operator.lt, iterations, iterations[1:])):  # written in order, each once: the usual case
        return life
    return sorted({row.iteration: row for row in life}.values(), key=_ITERATION)


def _row_of_replacement(candidates: list[IterationRow], started: str | None) -> IterationRow | None:
    """Of the rows of the iteration the policy was replaced after (in the order written), the one its attempt wrote."""
    for row in candidates:
        if started is None or row.written_at >= started:
            return row
    return candidates[-1] if candidates else None


def _mark(kind: str, label: str, row: IterationRow, x: Callable[[IterationRow], float | None], note: str) -> Mark:
    at, objective = x(row), row.objective
    assert at is not None and objective is not None  # marks go on usable rows only
    return Mark(kind, label, float(at), float(objective), note)
