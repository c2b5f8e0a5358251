"""The SQLite record of launches, experiments, scripts and submissions.

Names are looked up on first use: `store.plain` (what a launch needs) must be
importable without pulling SQLAlchemy in through `store.engine`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pbt_tracker.store.engine import Store, open_store
    from pbt_tracker.store.plain import DB_FILENAME, db_path

__all__ = ["DB_FILENAME", "Store", "db_path", "open_store"]


def __getattr__(name: str) -> Any:
    if name in ("Store", "open_store"):
        from pbt_tracker.store import engine

        return getattr(engine, name)
    if name in ("DB_FILENAME", "db_path"):
        from pbt_tracker.store import plain

        return getattr(plain, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
