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

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

__all__ = [
    "ATTEMPT", "REPLACEMENT", "RESTART", "X_AXES", "Attempt", "IterationRow", "Line", "Mark", "PlotData", "PolicyPlot",
    "Replacement", "policy_plot",
]

X_AXES = ("iteration", "frame")
RESTART = "restart"
REPLACEMENT = "replacement"
ATTEMPT = "attempt"


class IterationRow(NamedTuple):
    """One of the policy's own iteration files, as pbt_iterations holds it."""

    iteration: int
    frame: int | None
    objective: float | None
    life: str | None  # the experiment name the file carries
    written_at: str  # the file's modification time


class Replacement(NamedTuple):
    """The policy restarted from `donor`'s weights after `iteration`; `attempt_started_at` is when its attempt began."""

    donor: int
    iteration: int | None
    attempt_started_at: str | None


class Attempt(NamedTuple):
    attempt: int
    started_at: str | None


@dataclass(frozen=True)
class Line:
    """One life of one policy: its objective at each iteration (or frame)."""

    label: str
    life: int  # 1 for the policy's first life
    xs: list[float]
    ys: list[float]


@dataclass(frozen=True)
class Mark:
    kind: str  # RESTART, REPLACEMENT or ATTEMPT
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
    """
    usable = sorted(
        (row for row in rows if row.objective is not None and (x_axis == "iteration" or row.frame is not None)),
        key=lambda row: (row.written_at, row.iteration),
    )
    plot = PolicyPlot(label)
    if not usable:
        return plot
    lives = _lives(usable)
    for number, life in enumerate(lives, start=1):
        xs = [float(_x(row, x_axis)) for row in life]
        plot.lines.append(Line(label, number, xs, [float(row.objective) for row in life]))  # type: ignore[arg-type]
        if number > 1:
            plot.marks.append(_mark(RESTART, label, life[0], x_axis, f"life {number}"))
    for replacement in replacements:
        row = _row_of_replacement(usable, replacement)
        if row is not None and replacement.donor != policy:
            plot.marks.append(_mark(REPLACEMENT, label, row, x_axis, f"from {replacement.donor}"))
    written = [row.written_at for row in usable]
    for attempt in attempts:
        if attempt.attempt < 2 or attempt.started_at is None:
            continue
        first = bisect_left(written, attempt.started_at)
        if first < len(usable):
            plot.marks.append(_mark(ATTEMPT, label, usable[first], x_axis, f"attempt {attempt.attempt}"))
    return plot


def _lives(rows: list[IterationRow]) -> list[list[IterationRow]]:
    """Rows (in the order written) grouped by experiment name, in the order each life began; one row per iteration."""
    lives: dict[str | None, dict[int, IterationRow]] = {}
    for row in rows:  # a file written again later (same iteration, same life) replaces the earlier version
        lives.setdefault(row.life, {})[row.iteration] = row
    return [sorted(life.values(), key=lambda row: row.iteration) for life in lives.values()]


def _row_of_replacement(rows: list[IterationRow], replacement: Replacement) -> IterationRow | None:
    """The iteration the policy was replaced after, in the life its attempt wrote; None when it is not on record."""
    if replacement.iteration is None:
        return None
    candidates = [row for row in rows if row.iteration == replacement.iteration]
    started = replacement.attempt_started_at
    after = [row for row in candidates if started is None or row.written_at >= started]
    if after:
        return after[0]
    return candidates[-1] if candidates else None


def _x(row: IterationRow, x_axis: str) -> int:
    return row.iteration if x_axis == "iteration" else row.frame  # type: ignore[return-value]


def _mark(kind: str, label: str, row: IterationRow, x_axis: str, note: str) -> Mark:
    return Mark(kind, label, float(_x(row, x_axis)), float(row.objective), note)  # type: ignore[arg-type]
