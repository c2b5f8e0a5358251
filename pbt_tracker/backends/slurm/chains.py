"""Jobs that tracked jobs submit themselves: the `sbatch $FILENAME` at the end of a time-limited script.

Such a job runs a script pbt-track recorded, but pbt-track never ran its
sbatch. The sync's squeue listing names each job's script (Command); a job
running a recorded script, without a pbt-track tag, under an id the record
does not hold is the next attempt of that script's experiment, linked to the attempt before it, so
that `report`, `cancel` and scancel.sh reach it like any other. An id whose base a live array's
tasks hold (`store.sync.live_holders`) is held too.
"""

from __future__ import annotations

from pbt_tracker import states
from pbt_tracker.backends.slurm import NAME as SLURM
from pbt_tracker.backends.slurm.output import JobObservation
from pbt_tracker.backends.slurm.tags import tags_in
from pbt_tracker.store import Store, queries, utcnow, writes
from pbt_tracker.store.new_rows import NewSubmission, insert
from pbt_tracker.store.sync import base_id, live_holders, script_owners_of


def record_chained_jobs(store: Store, jobs: dict[str, JobObservation]) -> int:
    """Record every listed job that runs a recorded script and is not on record yet; how many were."""
    with store.read() as connection:
        owners = queries.script_owners(connection, SLURM)
    # A job pbt-track sent carries its tag, even before its sender has written the job id down.
    candidates = {job_id: job for job_id, job in jobs.items() if job.command in owners and not tags_in(job.comment)}
    if not candidates:
        return 0
    recorded = 0
    now = utcnow()
    with store.write() as connection:
        known = queries.recorded_job_ids(connection, sorted(candidates))
        held = live_holders(connection, SLURM, sorted(candidates))  # by base id: array A's tasks hold A too
        for job_id in sorted(candidates, key=_job_order):
            if job_id in known or base_id(job_id) in held:
                continue
            job = candidates[job_id]
            if not job.command:  # no batch script named, so none of ours (no script's path is empty)
                continue
            owner = script_owners_of(connection, job.command)
            if owner is None:
                continue
            attempt = queries.latest_attempt(connection, owner.experiment_id) + 1
            state = job.state or states.SUBMITTED
            submission_id = insert(connection, NewSubmission(
                experiment_id=owner.experiment_id, script_id=owner.script_id, attempt=attempt,
                argv=["sbatch", job.command], log_path=job.stdout, state=state, job_id=job_id,
                intended_at=job.submitted_at or now, submitted_at=job.submitted_at or now, updated_at=now,
                node=job.node, started_at=job.started_at, origin="chain", parent_submission_id=owner.submission_id,
            ))
            parent = f"job {owner.job_id}" if owner.job_id else f"attempt {owner.attempt}"
            writes.add_state_change(connection, submission_id, state, now,
                                    f"submitted from inside {parent} for the same script; found in squeue by it")
            recorded += 1
    return recorded


def _job_order(job_id: str) -> tuple[int, ...]:
    return tuple(int(part) for part in job_id.split("_") if part.isdigit())
