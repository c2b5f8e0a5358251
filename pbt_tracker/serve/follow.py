"""Bringing a workdir's population up to date from its record, read-only, reading only what is new.

Pages ask often and most of the time nothing has changed: the database's
files are looked at first (a commit changes the WAL's or the database's
size or time), and the record is opened only when they changed, at most once
a second, whoever asks. Each refresh opens the record read-only as `report
--no-sync` does and closes it again, so that serving holds no connection a
writer would have to wait for.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from pbt_tracker.errors import ServeError
from pbt_tracker.pbt.workspace import policy_index
from pbt_tracker.serve.chart import colours, frames
from pbt_tracker.serve.marks import marks_of
from pbt_tracker.serve.population import FEED_LENGTH, Policy, Population
from pbt_tracker.serve.tables import table_rows
from pbt_tracker.store import Store
from pbt_tracker.store import serve as record
from pbt_tracker.store.connection import db_path
from pbt_tracker.store.readonly import open_store_read_only

__all__ = ["Workdir", "open_record"]

MIN_INTERVAL = 1.0
"""Seconds between two looks at the record, however many pages ask."""
STALE_AFTER = 15.0
"""Seconds after which the record is read even though its files look unchanged (a coarse clock on NFS)."""


def open_record(path: Path) -> Store:
    store = open_store_read_only(path)
    if store is None and record.schema_is_newer(db_path(path)):
        raise ServeError(f"{db_path(path)} was written by a newer pbt-track; upgrade pbt-track (pip install -U "
                         "pbt-track) to serve it")
    if store is None:
        raise ServeError(f"{db_path(path)} was written by an older pbt-track; run `pbt-track report --workdir {path}` "
                         "once to upgrade it (serve only ever reads the record)")
    return store


class Workdir:
    """One served workdir: what its page shows, kept up to date by `refresh`."""

    def __init__(self, path: str | os.PathLike[str], index: int = 0) -> None:
        self.path = Path(path).absolute()
        self.index = index
        self.population = Population()
        self.lock = threading.Lock()
        self._stamp: tuple[Any, ...] | None = None
        self._looked_at = -float("inf")
        self._read_at = -float("inf")

    def refresh(self, force: bool = False, clock: Any = time.monotonic) -> bool:
        """Read what is new in the record; whether anything was. Safe from any thread."""
        with self.lock:
            now = clock()
            if not force and now - self._looked_at < MIN_INTERVAL:
                return False
            self._looked_at = now
            stamp = _stamp(self.path)
            if not force and stamp == self._stamp and now - self._read_at < STALE_AFTER:
                return False
            store = open_record(self.path)
            try:
                changed = _read(self.population, store)
            finally:
                store.close()
            self._stamp, self._read_at = stamp, now
            return changed


def _stamp(path: Path) -> tuple[Any, ...]:
    """What a commit changes: the database's and its WAL's size and time."""
    found: list[tuple[int, int, int] | None] = []
    for name in (db_path(path), db_path(path).with_name(db_path(path).name + "-wal")):
        try:
            stat = os.stat(name)
            found.append((stat.st_ino, stat.st_size, stat.st_mtime_ns))
        except OSError:
            found.append(None)
    return tuple(found)


def _read(population: Population, store: Store) -> bool:
    with store.read() as connection:
        newest = record.newest(connection)
        population.ids = {(row.launch_id, row.name): row.experiment_id for row in record.shown_experiments(connection)}
        current = sorted(population.ids.values())
        if current != population.current:
            population.start_over(current, _policies(record.experiments(connection, current)))
        before = population.newest
        synced = record.sync_times(connection)
        if newest == before and synced == population.synced and population.table is not None:
            return False
        population.synced = synced
        for chunk in record.history_after(connection, before.iteration, newest.iteration):
            if not population.add_history(chunk):
                population.frame += 1
        for replacement in record.replacements_after(connection, before.replacement, newest.replacement):
            policy = population.policies.get(replacement.experiment_id)
            if policy is not None:
                policy.replacements.append(replacement)
        attempts: dict[int, list[record.AttemptRow]] = {}
        for attempt in record.attempts(connection, sorted(population.policies)):
            attempts.setdefault(attempt.experiment_id, []).append(attempt)
        for experiment_id, policy in population.policies.items():
            policy.attempts = attempts.get(experiment_id, [])
        feed: list[tuple[str, str, record.DecisionRow | record.ChangeRow]]
        feed = [(row.decided_at, "decision", row) for row in record.decisions_after(connection, before.decision,
                                                                                     FEED_LENGTH)]
        feed += [(row.observed_at, "change", row) for row in record.changes_after(connection, before.change, FEED_LENGTH)]
        population.add_feed(feed)
        _read_params(population, connection)
        population.newest = newest
    _place_marks(population)
    _fill_table(population, store)
    return True


def _policies(experiments: list[record.ExperimentRow]) -> dict[int, Policy]:
    """The PBT policies among the experiments, labelled as `plot` labels them, each in its colour."""
    indexed = [(row, policy_index(json.loads(row.params or "{}") or {}, row.cmd)) for row in experiments]
    kept = [(row, index) for row, index in indexed if index is not None]
    runs = {row.run_name for row, _index in kept}
    kept.sort(key=lambda item: (item[0].run_name, item[0].launch_id, item[1]))
    palette = colours(len(kept))
    return {row.id: Policy(row.id, row.launch_id, index, f"policy {index}" if len(runs) == 1
                           else f"{row.run_name} policy {index}", row.name, palette[number])
            for number, (row, index) in enumerate(kept)}


def _read_params(population: Population, connection: Any) -> None:
    """The hyperparameters of the rows that decide progress: the table shows its current life's."""
    wanted = [row for policy in population.policies.values() for life in policy.lives.values()
              for row in life.values() if row.params is None]
    found = record.params_of(connection, [row.id for row in wanted])
    for row in wanted:
        row.params = found.get(row.id) or "{}"


def _place_marks(population: Population) -> None:
    marks = [mark for policy in population.policies.values() for mark in marks_of(policy)]
    placed = frames(population)
    if marks != population.marks or placed != population.frames:
        population.marks, population.frames = marks, placed
        population.view += 1


def _fill_table(population: Population, store: Store) -> None:
    rows = table_rows(population, store)
    if rows != population.table:
        population.table = rows
        population.table_version += 1
