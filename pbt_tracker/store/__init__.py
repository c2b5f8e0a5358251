"""The SQLite record of launches, experiments, scripts and submissions."""

from pbt_tracker.store.engine import DB_FILENAME, Store, db_path, open_store

__all__ = ["DB_FILENAME", "Store", "db_path", "open_store"]
