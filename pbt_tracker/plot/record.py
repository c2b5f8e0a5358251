"""The plot data of a workdir's PBT policies, read from the record one policy at a time.

Only the lines and marks are kept in memory, not the rows they came from,
so a plot of a long run costs what the picture holds.
"""

from __future__ import annotations

import json
from collections import defaultdict
from functools import cache
from typing import TYPE_CHECKING

from pbt_tracker.errors import PlotError
from pbt_tracker.pbt.workspace import policy_index
from pbt_tracker.plot.data import Attempt, Decision, PlotData, PolicyPlot, Replacement, policy_plot
from pbt_tracker.store import plot as sql
from pbt_tracker.store import queries
from pbt_tracker.store.connection import parse_time, sql_time

if TYPE_CHECKING:
    from pbt_tracker.store import Store
    from pbt_tracker.store.selection import Selection

__all__ = ["NOT_DECISIONS", "plot_data_of"]

NOT_DECISIONS = ("event-failed",)
"""The keeper's records that are no decision about a policy: its --on-event hook failed (keeper.rules.EVENT_FAILED)."""


def plot_data_of(store: Store, selection: Selection, x_axis: str) -> PlotData:
    """Every selected PBT policy with history on record; a PlotError when none has any."""
    selection = selection._replace(all_attempts=True)
    with store.read() as connection:
        queries.check_names_exist(connection, selection)
        policies: dict[int, tuple[str, int, int]] = {}  # experiment id -> run, launch, policy
        attempts: dict[int, list[Attempt]] = defaultdict(list)
        for row in sql.plot_attempts(connection, selection):
            policy = policy_index(json.loads(row.params or "{}") or {}, row.cmd)
            if policy is not None:
                policies[row.experiment_id] = (row.run, row.launch_id, policy)
                attempts[row.experiment_id].append(Attempt(
                    row.attempt, _as_recorded(row.started_at), row.state, _as_recorded(row.ended_at),
                    row.timeout_template is not None and _ends_by_timeout(row.timeout_template)))
        runs = {run for run, _launch, _policy in policies.values()}
        label = {eid: f"policy {policy}" if len(runs) == 1 else f"{run} policy {policy}"
                 for eid, (run, _launch, policy) in policies.items()}
        ids = sorted(policies)
        replaced: dict[int, list[Replacement]] = defaultdict(list)
        for event in sql.replacements(connection, ids):
            if event.policy == policies[event.experiment_id][2]:  # a log several policies print to names each of them
                replaced[event.experiment_id].append(
                    Replacement(event.donor, event.iteration, _as_recorded(event.attempt_started_at),
                                bool(event.undone)))
        decided: dict[int, list[Decision]] = defaultdict(list)
        for decision in sql.decisions(connection, ids, NOT_DECISIONS):
            decided[decision.experiment_id].append(Decision(_recorded(decision.decided_at), decision.action))
        plots: dict[int, PolicyPlot] = {}
        for experiment_id in ids:
            plots[experiment_id] = policy_plot(
                label[experiment_id], policies[experiment_id][2], sql.own_iterations(connection, experiment_id, frames=x_axis == "frame"),
                replaced[experiment_id], attempts[experiment_id], x_axis, decided[experiment_id],
            )
    drawn = [plots[eid] for eid in sorted(plots, key=lambda eid: policies[eid]) if plots[eid].lines]
    if not drawn:
        where = "the selected experiments" if not selection.is_empty else "this workdir"
        what = "an objective with a frame" if x_axis == "frame" else "an objective"
        raise PlotError(f"no PBT policy of {where} has {what} on record yet; "
                        "plot again once the policies have written their first iteration")
    title = f"{next(iter(runs))}: true objective" if len(runs) == 1 else "true objective"
    return PlotData(title, x_axis, drawn)


@cache
def _ends_by_timeout(template: str) -> bool:
    """Whether the template runs the command under GNU `timeout`, so that its 124 is the time limit, as the keeper
    reads it (keeper.rules.Attempt.time_limited)."""
    from pbt_tracker.backends.slurm.timeout import ends_by_timeout

    return "timeout" in template and ends_by_timeout(template)


def _as_recorded(moment: str | None) -> str | None:
    """A time in the form sync writes (to the microsecond), so that it compares with the files' times as text."""
    return None if moment is None else _recorded(moment)


def _recorded(moment: str) -> str:
    return sql_time(parse_time(moment))
