"""One life of one policy as the charts draw it: growing arrays, and the fewest points that draw it faithfully.

A run of 64 policies over 10,000 iterations is 640,000 points: as Python
objects they would cost hundreds of megabytes, as arrays of machine numbers
15. A chart of it is a few hundred pixels wide, so a page is sent, per pixel
column, the lowest and the highest point of each line there; what arrives
later is sent as it is.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Collection, Iterable, Sequence

__all__ = ["Line", "decimated", "path_data"]

_KEPT_GROWTHS = 4096  # generations remembered per line: a page away for longer takes the charts whole


class Line:
    """A policy's points in one life, in iteration order, and which points each refresh (generation) added."""

    __slots__ = ("life", "number", "iterations", "objectives", "times", "grown_at", "grown_from", "forgotten",
                 "times_sorted")

    def __init__(self, life: str | None, number: int) -> None:
        self.life = life
        self.number = number  # 1 for the policy's first life
        self.iterations = array("q")
        self.objectives = array("d")
        self.times = array("d")  # NaN where the file's time is not on record
        self.grown_at = array("q")  # the generations that added points to the line ...
        self.grown_from = array("q")  # ... and how many points it had before each
        self.forgotten = -1  # pages older than this generation are sent the line whole
        self.times_sorted = True

    def __len__(self) -> int:
        return len(self.iterations)

    def add(self, generation: int, iterations: Sequence[int], objectives: Sequence[float],
            times: Sequence[float]) -> bool:
        """Add points written after the ones held; False when they do not simply extend the line.

        An iteration written again (a policy resumed from an older checkpoint)
        replaces the earlier version, as `plot` draws it: the line is then
        put back in order, and what a page holds of it is stale.
        """
        if not iterations:
            return True
        if not self.grown_at or self.grown_at[-1] != generation:
            self._note_growth(generation)
        last = self.iterations[-1] if self.iterations else None
        extends = (last is None or iterations[0] > last) and _increasing(iterations)
        joined = self.times[-1:].tolist() + list(times)  # only the new times are looked at: a refresh costs what it adds
        self.iterations.extend(iterations)
        self.objectives.extend(objectives)
        self.times.extend(times)
        if not extends:
            self._reorder()
            self.grown_at, self.grown_from = array("q", [generation]), array("q", [0])
        else:
            self.times_sorted = self.times_sorted and _ascending(joined)
        return extends

    def _reorder(self) -> None:
        latest = {iteration: index for index, iteration in enumerate(self.iterations)}  # the later version wins
        order = sorted(latest.values(), key=self.iterations.__getitem__)
        self.iterations = array("q", (self.iterations[i] for i in order))
        self.objectives = array("d", (self.objectives[i] for i in order))
        self.times = array("d", (self.times[i] for i in order))
        self.times_sorted = _ascending(self.times)

    def _note_growth(self, generation: int) -> None:
        """Remember where this generation's points begin; of a long session, only the latest generations."""
        if len(self.grown_at) >= _KEPT_GROWTHS:
            half = _KEPT_GROWTHS // 2
            self.forgotten = self.grown_at[half - 1]
            self.grown_at, self.grown_from = self.grown_at[half:], self.grown_from[half:]
        self.grown_at.append(generation)
        self.grown_from.append(len(self.iterations))

    @property
    def born(self) -> int:
        """The generation that gave the line its first point (or put it back in order)."""
        return self.grown_at[0] if self.grown_at and self.forgotten < 0 else -1

    def since(self, generation: int) -> int | None:
        """The index of the first point a page that holds `generation` lacks; None when that is forgotten."""
        if generation < self.forgotten:
            return None
        index = bisect_right(self.grown_at, generation)
        return self.grown_from[index] if index < len(self.grown_at) else len(self.iterations)

    def first_written_from(self, moment: float) -> int | None:
        """The index of the first point written at or after `moment`."""
        if self.times_sorted:
            index = bisect_left(self.times, moment)
            return index if index < len(self.times) else None
        return next((i for i, t in enumerate(self.times) if t >= moment), None)

    def last_written_by(self, moment: float) -> int | None:
        """The index of the last point written at or before `moment`."""
        if self.times_sorted:
            index = bisect_right(self.times, moment) - 1
            return index if index >= 0 else None
        return next((i for i in range(len(self.times) - 1, -1, -1) if self.times[i] <= moment), None)

    def at_iteration(self, iteration: int) -> int | None:
        index = bisect_left(self.iterations, iteration)
        return index if index < len(self.iterations) and self.iterations[index] == iteration else None


def _increasing(values: Sequence[int]) -> bool:
    """Strictly: each iteration once. Sorting what is sorted already is one pass, in C."""
    listed = list(values)
    return listed == sorted(listed) and len(set(listed)) == len(listed)


def _ascending(values: Sequence[float]) -> bool:
    listed = list(values)
    return not any(map(math.isnan, listed)) and listed == sorted(listed)


def decimated(xs: Sequence[float], ys: Sequence[float], x0: float, x1: float, columns: int) -> list[int]:
    """Indices of the points to draw: per column of the x range, the lowest and the highest, in x order.

    `xs` must be ascending. Lines that have at most two points per column are kept whole.
    """
    count = len(xs)
    if count <= 2 * columns or x1 <= x0:
        return list(range(count))
    width = (x1 - x0) / columns
    kept: list[int] = []
    start = 0
    while start < count:
        column = math.floor((xs[start] - x0) / width)
        end = max(bisect_left(xs, x0 + (column + 1) * width, start), start + 1)
        chunk = ys[start:end]
        low, high = chunk.index(min(chunk)), chunk.index(max(chunk))
        kept.append(start + min(low, high))
        if high != low:
            kept.append(start + max(low, high))
        start = end
    if kept[-1] != count - 1:
        kept.append(count - 1)
    return kept


def path_data(xs: Sequence[float], ys: Sequence[float], indices: Iterable[int], origin: float = 0.0,
              start_with_move: bool = True, breaks: Collection[int] = ()) -> str:
    """SVG path data in the chart's own units (x less `origin`), with more digits than a chart shows; a point
    whose index is in `breaks` starts a new stroke; points whose x is unknown (NaN) are left out."""
    # Times come from SQLite's julianday, a few microseconds off: to the millisecond, they read as written.
    points = [(index, f"{round(xs[index] - origin, 3):.7g} {ys[index]:.6g}") for index in indices
              if xs[index] == xs[index]]
    if not points:
        return ""
    first = "M" if start_with_move or points[0][0] in breaks else "L"
    if not breaks:
        return first + "L".join(point for _index, point in points)
    return first + points[0][1] + "".join(("M" if index in breaks else "L") + point for index, point in points[1:])
