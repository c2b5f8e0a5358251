"""What a page shows of one workdir, held in memory and grown by the rows each refresh reads.

Versions tell a page what it lacks: `generation` counts the refreshes that
added points (a page asks for the points after its own), `view` changes
whenever the axes or the marks do, `frame` when what a page holds of a
chart can no longer be extended (a line put back in order, an earlier time
on record) and it must take the chart whole.

A policy's progress in the table follows `report --pbt`'s rule
(`report.pbt.progress_from_history`), fed with the few rows that decide it
rather than every row of the launch: per life, its latest written file, its
highest iteration and its best objective, and per policy its best copy.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter
from collections.abc import Sequence
from typing import Any

from pbt_tracker.serve.series import Line
from pbt_tracker.store.serve import AttemptRow, HistoryRow, Newest, ReplacementRow, SyncTimes

__all__ = ["FEED_LENGTH", "FeedItem", "Policy", "Population", "best_of"]

_RUN = itemgetter(1, 5, 7)  # a HistoryRow's experiment, life and whether it is a best copy

FEED_LENGTH = 200
"""How many of the newest keeper decisions and state changes a page lists."""


@dataclass
class Policy:
    """One PBT policy of the workdir (an experiment with `pbt.policy_idx`), and everything charted of it."""

    experiment_id: int
    launch_id: int
    index: int
    label: str
    name: str
    colour: str = "#1f77b4"
    lines: list[Line] = field(default_factory=list)
    attempts: list[AttemptRow] = field(default_factory=list)
    replacements: list[ReplacementRow] = field(default_factory=list)
    lives: dict[str | None, dict[str, DecisiveRow]] = field(default_factory=dict)  # life -> what decides progress

    def line_of(self, life: str | None) -> Line:
        for line in self.lines:
            if line.life == life:
                return line
        line = Line(life, len(self.lines) + 1)
        self.lines.append(line)
        return line


@dataclass(frozen=True)
class FeedItem:
    sequence: int
    at: str  # UTC text, as the record holds it
    kind: str  # "decision" or "change"
    row: Any


class Population:
    def __init__(self) -> None:
        self.policies: dict[int, Policy] = {}
        self.current: list[int] = []  # the experiments shown: each name's in the launch that last submitted it
        self.ids: dict[tuple[int, str], int] = {}  # (launch id, experiment name), as reports name them -> id
        self.newest = Newest(0, 0, 0, 0, 0)
        self.generation = 0
        self.frame = 0
        self.view = 0
        self.table_version = 0
        self.table: Any = None  # the rows a page's table shows (serve.tables.TableRow)
        self.feed: deque[FeedItem] = deque(maxlen=FEED_LENGTH)
        self.feed_sequence = 0
        self.copies: dict[tuple[int, int], DecisiveRow] = {}  # (launch, policy) -> best copy made of it
        self.synced = SyncTimes(None, None)
        self.iterations = _Range()
        self.objectives = _Range()
        self.times = _Range()
        self.time_origin: float | None = None  # fixed once set: the time chart's paths count seconds from it
        self.frames: dict[str, Any] = {}  # chart -> serve.chart.ChartFrame
        self.marks: list[Any] = []  # serve.marks.ChartMark
        self.drawn: dict[tuple[Any, ...], str] = {}  # each chart's SVG as it stands (serve.chart.whole_chart)

    def start_over(self, current: list[int], policies: dict[int, Policy]) -> None:
        """Charts begin again from the first row: the experiments shown changed (a new launch, a forgotten one)."""
        self.current, self.policies, self.copies = current, policies, {}
        self.iterations, self.objectives, self.times = _Range(), _Range(), _Range()
        self.time_origin = None
        self.newest = self.newest._replace(iteration=0, replacement=0)
        self.frame += 1

    def add_history(self, rows: list[tuple]) -> bool:
        """Add copied iteration files (plain tuples in HistoryRow's order, in copy order); False when a line had to
        be put back in order.

        Rows come in runs of one policy's files: each run is taken apart into
        columns at once, so a long history costs little Python work per row.
        """
        generation = self.generation + 1
        batches: dict[tuple[int, str | None], list[tuple]] = {}
        for (experiment_id, life, best_copy), run in groupby(rows, key=_RUN):
            policy = self.policies.get(experiment_id)
            if policy is None:
                continue
            if best_copy:
                for row in run:
                    self._note_copy(policy.launch_id, HistoryRow._make(row))
            else:
                batches.setdefault((experiment_id, life), []).extend(run)
        extended = True
        drawn = False
        iterations: Sequence[Any]  # columns of the batch, then of its scored rows only
        objectives: Sequence[Any]
        written: Sequence[Any]
        times: Sequence[float]
        for (experiment_id, life), batch in batches.items():
            policy = self.policies[experiment_id]
            _ids, _experiments, _policies, iterations, objectives, _lives, written, _copies = zip(*batch)
            if None in written:
                written = tuple(-math.inf if moment is None else moment for moment in written)
            self._note_life(policy, life, batch, iterations, objectives, written)
            if None in objectives:
                kept = [index for index, objective in enumerate(objectives) if objective is not None]
                if not kept:
                    continue
                iterations, objectives, written = ([column[index] for index in kept]
                                                   for column in (iterations, objectives, written))
            if -math.inf in written:  # files without a time are drawn on the iteration chart only
                times = [math.nan if moment == -math.inf else moment for moment in written]
                self.times.widen([moment for moment in times if moment == moment])
            else:
                times = written
                self.times.widen(times)
            extended = policy.line_of(life).add(generation, iterations, objectives, times) and extended
            drawn = True
            self.iterations.widen(iterations)
            self.objectives.widen(objectives)
        if self.time_origin is None and self.times.low is not None:
            self.time_origin = math.floor(self.times.low / 60) * 60
        if drawn:
            self.generation = generation
        return extended

    def _note_life(self, policy: Policy, life: str | None, batch: list[tuple], iterations: Sequence[Any],
                   objectives: Sequence[Any], written: Sequence[Any]) -> None:
        """Keep, of the life's rows, the latest written, the highest iteration and the best objective."""
        positions = range(len(batch))
        latest = HistoryRow._make(batch[max(zip(written, iterations, positions))[2]])
        top = HistoryRow._make(batch[max(zip(iterations, written, positions))[2]])
        if None in objectives:
            scored = [(objective, index) for index, objective in enumerate(objectives) if objective is not None]
            best = HistoryRow._make(batch[max(scored)[1]]) if scored else latest
        else:
            best = HistoryRow._make(batch[objectives.index(max(objectives))])
        held = policy.lives.get(life)
        if held is None:
            policy.lives[life] = {"latest": _as_report(latest), "top": _as_report(top), "best": _as_report(best)}
            return
        if (_written(latest), latest.iteration) >= (held["latest"].file_mtime, held["latest"].iteration):
            held["latest"] = _as_report(latest)
        if (top.iteration, _written(top)) >= (held["top"].iteration, held["top"].file_mtime):
            held["top"] = _as_report(top)
        if best.objective is not None and (held["best"].true_objective is None
                                           or best.objective > held["best"].true_objective):
            held["best"] = _as_report(best)

    def _note_copy(self, launch_id: int, row: HistoryRow) -> None:
        held = self.copies.get((launch_id, row.policy))
        if row.objective is not None and (held is None or held.true_objective is None
                                          or row.objective > held.true_objective):
            self.copies[(launch_id, row.policy)] = _as_report(row, "best")

    def decisive_rows(self, launch_id: int) -> list[DecisiveRow]:
        """The rows of a launch that decide every one of its policies' progress, as `progress_from_history` takes them."""
        rows = [row for policy in self.policies.values() if policy.launch_id == launch_id
                for decisive in policy.lives.values() for row in decisive.values()]
        return rows + [row for (launch, _policy), row in self.copies.items() if launch == launch_id]

    def rows_deciding(self, policy: Policy, launch_best: DecisiveRow | None) -> list[DecisiveRow]:
        """Of the launch's deciding rows, those that decide this policy's progress: its own, its best copy, and the
        launch's best row, which decides only the population's best (`launch_best`, from `best_of`)."""
        copy = self.copies.get((policy.launch_id, policy.index))
        return ([row for decisive in policy.lives.values() for row in decisive.values()]
                + ([copy] if copy is not None else []) + ([launch_best] if launch_best is not None else []))

    def add_feed(self, items: list[tuple[str, str, Any]]) -> None:
        """New decisions and state changes, (time, kind, row) in any order; the page lists them newest first."""
        for at, kind, row in sorted(items, key=lambda item: item[0]):
            self.feed_sequence += 1
            self.feed.append(FeedItem(self.feed_sequence, at, kind, row))

    @property
    def cursor(self) -> str:
        """What a page holds, as it sends it back: generation, newest feed item, table, view and frame versions."""
        return f"{self.generation}.{self.feed_sequence}.{self.table_version}.{self.view}.{self.frame}"


def best_of(rows: list[DecisiveRow]) -> DecisiveRow | None:
    """The row of the highest objective, None when none has one."""
    scored = [row for row in rows if row.true_objective is not None]
    return max(scored, key=_objective) if scored else None


def _objective(row: DecisiveRow) -> float:
    return -math.inf if row.true_objective is None else row.true_objective


def _written(row: HistoryRow) -> float:
    return -math.inf if row.written is None else row.written


class DecisiveRow:
    """A row as `report.pbt.progress_from_history` reads pbt_iterations rows, kept in memory by the page; its
    params are read only when the table shows them, so they are filled in later (hence not a named tuple)."""

    __slots__ = ("id", "experiment_id", "policy", "iteration", "true_objective", "experiment_name", "file_key",
                 "file_mtime", "params")

    def __init__(self, row: HistoryRow, file_key: str = "") -> None:
        self.id, self.experiment_id, self.policy, self.iteration = row.id, row.experiment_id, row.policy, row.iteration
        self.true_objective, self.experiment_name, self.file_key = row.objective, row.life, file_key
        self.file_mtime: float = _written(row)
        self.params: str | None = None


def _as_report(row: HistoryRow, file_key: str = "") -> DecisiveRow:
    return DecisiveRow(row, file_key)


class _Range:
    """The smallest and largest value seen, None before any."""

    def __init__(self) -> None:
        self.low: float | None = None
        self.high: float | None = None

    def widen(self, values: Any) -> None:
        if not values:
            return
        low, high = min(values), max(values)
        self.low = low if self.low is None else min(self.low, low)
        self.high = high if self.high is None else max(self.high, high)
