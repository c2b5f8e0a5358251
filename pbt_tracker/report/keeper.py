"""The keeper's latest decision about each experiment, as `report` shows it.

Kept apart from the report's rows so that a report of a workdir the keeper
never touched reads one small table and nothing more.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pbt_tracker.store import Store
from pbt_tracker.store import keeper as keeper_store
from pbt_tracker.store.times import iso_text

if TYPE_CHECKING:
    from pbt_tracker.report.rows import ReportRow


def latest_by_experiment(store: Store) -> dict[tuple[int, str], dict[str, str]]:
    with store.read() as connection:
        rows = keeper_store.latest_decisions(connection)
    return {key: {"action": row.action, "reason": row.reason, "decided_at": iso_text(row.decided_at) or "-"}
            for key, row in rows.items()}


def keeper_lines(rows: list[ReportRow], latest: dict[tuple[int, str], dict[str, str]]) -> str:
    """One `keeper` line per reported experiment the keeper decided about, however many of its attempts are shown."""
    lines = []
    for key in dict.fromkeys((row.launch_id, row.experiment) for row in rows):
        decision = latest.get(key)
        if decision is not None:
            lines.append(f"keeper {key[1]}: {decision['action']} at {decision['decided_at']}: {decision['reason']}")
    return "".join(line + "\n" for line in lines)
