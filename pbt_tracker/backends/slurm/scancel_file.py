"""scancel.sh: the workdir's file that cancels every job the record holds as active.

It is derived from the record and rewritten whenever the set of active jobs
changes, so that a user without pbt-track at hand (or with the database
lost) can still stop the population with one command.
"""

from __future__ import annotations

from pathlib import Path

from pbt_tracker.backends.slurm.backend import NAME as SLURM
from pbt_tracker.errors import StoreError
from pbt_tracker.files import write_text_atomic
from pbt_tracker.backends.slurm.scancel_script import SCANCEL_SCRIPT_NAME, scancel_script
from pbt_tracker.store import Store, queries


def write_scancel_script(store: Store) -> Path:
    """Rewrite scancel.sh from the record, so it covers every launch from this workdir."""
    with store.read() as connection:
        job_ids = queries.active_job_ids(connection, SLURM)
    path = store.workdir / SCANCEL_SCRIPT_NAME
    try:
        write_text_atomic(path, scancel_script(job_ids), executable=True)
    except OSError as error:
        if not store.path.exists():
            raise StoreError(
                f"cannot write {path}: {error.strerror}; the workdir's database is gone too ({store.path} was "
                "deleted or moved while pbt-track ran), so no record of these jobs remains there: "
                "`squeue --me` lists them"
            ) from None
        raise StoreError(f"cannot write {path}: {error.strerror}; the database still lists the job ids") from None
    return path
