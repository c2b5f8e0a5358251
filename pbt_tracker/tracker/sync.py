"""Syncing a workdir: every backend brings its own jobs' states up to date, then the PBT history is copied.

How each backend asks its scheduler lives in its folder (`backends.slurm.sync`
for Slurm); this is the part every command that syncs shares.
"""

from __future__ import annotations

from pbt_tracker.backends.base import SyncResult
from pbt_tracker.errors import SchedulerError
from pbt_tracker.store import Store, queries


def sync_workdir(store: Store) -> SyncResult:
    """Sync every backend's jobs, each as its backend follows them (pbt_tracker.backends)."""
    from pbt_tracker import backends
    from pbt_tracker.store import history

    result = SyncResult()
    with store.read() as connection:
        present = queries.launch_backends(connection)
    for name in backends.names():
        if name not in present:  # nothing of its to follow: neither its module nor its queries are needed
            continue
        backend = backends.get(name)
        try:
            backend.sync(store, result)
        except SchedulerError as error:
            error.backend = backend.name  # a report that goes on without this sync says whose scheduler failed
            raise
    with store.read() as connection:
        has_pbt = history.has_pbt_experiments(connection)
    if has_pbt:  # the PBT file readers are imported only where there are PBT policies
        from pbt_tracker.pbt.history import copy_history

        from pbt_tracker.pbt.starts import clean_copies

        copy_history(store)  # PBT iteration files and replacement events, before IsaacGymEnvs cleans them up
        clean_copies(store)  # restart copies that no continuation can need any more
    return result
