"""Alembic migrations of pbt-track's database, installed as pbt_tracker.migrations."""
