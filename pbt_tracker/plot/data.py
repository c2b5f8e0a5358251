"""What a plot of a PBT population shows, worked out from the record's rows before anything is drawn.

A policy's history is not one line: a policy started over (without
``++pbt_restart=True``) begins again at iteration 0 under a new experiment
name while its earlier life stays on record, so each life is a line of its
own, and where a later life begins is marked as a restart. Replacements (the
policy took a donor's weights) come from the lines its log printed, and an
attempt (a resubmission) starts where the first iteration written after its
start is: the iteration files know nothing of either.

Times are compared as the record writes them (``YYYY-MM-DD HH:MM:SS.ffffff``,
UTC), which sorts like the times themselves.
"""

from __future__ import annotations

import operator
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter
from typing import Any, NamedTuple

from pbt_tracker.store.plot import IterationRow

__all__ = [
    "ATTEMPT", "REPLACEMENT", "RESTART", "UNDONE", "X_AXES", "Attempt", "IterationRow", "Line", "Mark", "PlotData", "PolicyPlot",
    "Replacement", "policy_plot",
]

X_AXES = ("iteration", "frame")
RESTART = "restart"
REPLACEMENT = "replacement"
ATTEMPT = "attempt"
UNDONE = "undone"  # a replacement or mutation a continuation did not carry


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


@dataclass(frozen=True)
class Line:
    """One life of one policy: its objective at each iteration (or frame)."""

    label: str
    life: int  # 1 for the policy's first life
    xs: list[int]
    ys: list[float]


@dataclass(frozen=True)
class Mark:
    kind: str  # RESTART, REPLACEMENT, UNDONE or ATTEMPT
    label: str  # the policy's
    x: float
    y: float
    note: str  # "from 3", "attempt 2", "life 2"


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


def policy_plot(label: str, policy: int, rows: Iterable[IterationRow], replacements: Sequence[Replacement] = (),
                attempts: Sequence[Attempt] = (), x_axis: str = "iteration") -> PolicyPlot:
    """A policy's lines (one per life) and marks; rows without an objective, or without a frame on a frame axis, are left out.

    A replacement by the policy itself (only its hyperparameters were
    mutated) is not marked, nor is the first attempt: the line's start is it.
    A replacement or mutation that a continuation undid is marked as undone
    instead, never as made.
    """
    if x_axis == "iteration":
        x, usable = _ITERATION, [row for row in rows if row.objective is not None and row.iteration is not None]
    else:
        x, usable = _FRAME, [row for row in rows if row.objective is not None and row.frame is not None]
    usable.sort(key=_WRITTEN_AT)  # stable: rows written the same microsecond keep their order
    plot = PolicyPlot(label)
    if not usable:
        return plot
    for number, life in enumerate(_lives(usable), start=1):
        plot.lines.append(Line(label, number, list(map(x, life)), list(map(_OBJECTIVE, life))))
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
    return plot


def _lives(rows: list[IterationRow]) -> list[list[IterationRow]]:
    """Rows (in the order written) grouped by experiment name, in the order each life began; one row per iteration."""
    lives: dict[str | None, list[IterationRow]] = {}
    for name, life in groupby(rows, key=_LIFE):
        lives.setdefault(name, []).extend(life)
    return [_one_per_iteration(life) for life in lives.values()]


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


def _mark(kind: str, label: str, row: IterationRow, x: Callable[[IterationRow], int | None], note: str) -> Mark:
    at, objective = x(row), row.objective
    assert at is not None and objective is not None  # marks go on usable rows only
    return Mark(kind, label, float(at), float(objective), note)
