"""The SQLite record of launches, experiments, scripts and submissions.

Every SQL statement pbt-track runs lives in this package, on the standard
library's sqlite3: `connection` opens the database, `schema` builds and
upgrades it from the migration chain, and the other modules hold the
statements of one part of the record each. Rows leave the package as named
tuples defined beside the statement that reads them, so that nothing
outside it depends on the order of a statement's columns.
"""

from pbt_tracker.store.connection import DB_FILENAME, Store, db_path, open_store, utcnow

__all__ = ["DB_FILENAME", "Store", "db_path", "open_store", "utcnow"]
