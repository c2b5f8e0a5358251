"""The migration chain's head and the tables and views it builds, written down once: every open checks them.

Read from `migrations/versions/`, they would cost every command a listing of
that folder and the import of each migration. The chain changes only with a
new migration, and tests/test_sound_record.py derives both from it and fails
until these two say the same.
"""

HEAD = "0014"
TABLES = frozenset({
    "alembic_version", "cancellations", "experiment_status", "experiments", "keeper_decisions", "keeper_lease",
    "launches", "pbt_events", "pbt_iterations", "pbt_starts", "scripts", "slurm_arrays", "state_changes",
    "submissions", "sync_runs",
})
