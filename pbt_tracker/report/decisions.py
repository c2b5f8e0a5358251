"""The PBT decisions continuations did not carry, told wherever a policy's history is told.

A replacement or mutation that a continuation undid is part of the policy's
history as much as the decision itself: `report --pbt`, `show`, the plot and
the keeper say so, from the outcome written on the start in the record.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pbt_tracker.store import Store
from pbt_tracker.store import decisions as sql
from pbt_tracker.store.decisions import StartRow

__all__ = ["decision_lines", "decisions_undone", "undone_lines", "undone_text"]


def undone_text(row: StartRow) -> str:
    """``01_ws attempt 1: <what> is undone: <why> (continuation attempt N)``, from the row's own detail."""
    return f"{row.experiment} attempt {row.attempt}: {row.outcome_detail or 'a decision is undone'}"


def undone_lines(store: Store, experiments: Iterable[str]) -> str:
    """The report's lines below its table, one per undone decision of the shown experiments; empty when none."""
    names = set(experiments)
    with store.read() as connection:
        rows = [row for row in sql.undone_starts(connection) if row.experiment in names]
    return "".join(f"PBT decision undone: {undone_text(row)}\n" for row in rows)


def decision_lines(store: Store, experiment_id: int) -> list[str]:
    """`show`'s account of the policy's decisions: each start, and what became of it."""
    with store.read() as connection:
        rows = sql.starts_of_experiment(connection, experiment_id)
    lines = []
    for row in rows:
        after = f"after iteration {row.iteration}" if row.iteration is not None else "after an unknown iteration"
        what = (f"took policy {row.donor}'s weights" if row.donor is not None and row.donor != row.policy
                else "mutated its parameters")
        outcome = {"carried": "carried by a continuation", "undone": "UNDONE"}.get(row.outcome or "", "")
        detail = f": {row.outcome_detail}" if row.outcome == "undone" and row.outcome_detail else ""
        cleaned = ", copy removed" if row.cleaned_at else ""
        lines.append(f"  attempt {row.attempt}  {what} {after} (checkpoint {row.checkpoint})"
                     + (f"  {outcome}{detail}" if outcome else "") + cleaned)
    return ["", "PBT decisions", *lines] if lines else []


def decisions_undone(workdir: str | Path) -> int:
    """How many replacements and mutations of the PBT algorithm a continuation undid in this workdir's record.

    For scripts and benchmarks: reads the record only, never syncs.
    """
    from pbt_tracker.store.readonly import open_store_read_only

    store = open_store_read_only(workdir)
    if store is None:
        from pbt_tracker.store import open_store

        store = open_store(workdir, create=False)  # an older schema: upgraded, as every command does
    try:
        with store.read() as connection:
            return sql.count_undone(connection)
    finally:
        store.close()
