"""The PBT policies that started over, told wherever a policy's progress is: `report --pbt` (a line below the
table, a field in JSON) and `show`.

pbt-track's own starts never start a policy over; a start without its
checkpoint (the files gone) or from outside pbt-track may, and the progress
it costs is no less lost for being nobody's decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from pbt_tracker.pbt.lives import StartOver, over_text, started_over
from pbt_tracker.store import Store
from pbt_tracker.store.lives import experiment_ids

if TYPE_CHECKING:
    from pbt_tracker.report.rows import ReportRow

__all__ = ["over_lines", "overs_of", "started_over_field"]


def overs_of(store: Store, keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], list[StartOver]]:
    """The start overs of these experiments, by (launch id, name); an experiment that never started over is left out."""
    wanted = set(keys)
    with store.read() as connection:
        ids = {key: value for key, value in experiment_ids(connection, {launch for launch, _ in wanted}).items()
               if key in wanted}
        overs = started_over(connection, ids.values())
    key_of = {value: key for key, value in ids.items()}
    found: dict[tuple[int, str], list[StartOver]] = {}
    for over in overs:
        found.setdefault(key_of[over.experiment_id], []).append(over)
    return found


def over_lines(store: Store, rows: Sequence[ReportRow]) -> str:
    """The report's lines below its table, one per start over of the shown experiments; empty when none."""
    overs = overs_of(store, ((row.launch_id, row.experiment) for row in rows))
    return "".join(f"PBT policy started over: {over_text(key[1], over)}\n"
                   for key in dict.fromkeys((row.launch_id, row.experiment) for row in rows) for over in overs.get(key, []))


def started_over_field(store: Store, rows: Sequence[ReportRow]) -> dict[tuple[int, str], list[dict[str, Any]]]:
    """The JSON report's `pbt_started_over` of each experiment that started over, by (launch id, name), oldest first."""
    overs = overs_of(store, ((row.launch_id, row.experiment) for row in rows))
    return {key: [{"attempt": over.attempt, "life": over.life, "restarted_from": over.restarted_from,
                   "after_iteration": over.after_iteration, "iteration": over.iteration, "iterations_redone": over.redone}
                  for over in found] for key, found in overs.items()}

