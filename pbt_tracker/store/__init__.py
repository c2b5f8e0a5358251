"""The SQLite record of launches, experiments, scripts and submissions.

Every SQL statement pbt-track runs lives in this package, on the standard
library's sqlite3: `connection` opens the database, `schema` builds and
upgrades it from the migration chain, and the other modules hold the
statements of one part of the record each.
"""

from pbt_tracker.store.connection import DB_FILENAME, Store, db_path, open_store, utcnow

__all__ = ["DB_FILENAME", "Store", "db_path", "open_store", "utcnow"]
