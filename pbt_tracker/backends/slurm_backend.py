"""Slurm: sbatch scripts, followed by squeue and sacct, cancelled with scancel."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pbt_tracker.backends.base import SCRIPT

if TYPE_CHECKING:
    from pbt_tracker.store import Store
    from pbt_tracker.tracker.record import Echo, SubmittedJob
    from pbt_tracker.tracker.sync import SyncResult


class SlurmBackend:
    name = "slurm"
    requeues_jobs = True
    follows_jobs = True
    cancels_with_scancel = True
    stops_locally = False
    cancel_advice = None
    report_note = None
    log_advice = None
    resubmission = SCRIPT

    def sync(self, store: Store, result: SyncResult) -> None:
        """sync_slurm's answer added to `result`; scancel.sh follows when a job changed."""
        from pbt_tracker.tracker.record import write_scancel_script
        from pbt_tracker.tracker.sync import sync_slurm

        own = sync_slurm(store)
        if own.changed:
            write_scancel_script(store)
        result.asked += own.asked
        result.changed += own.changed
        result.scheduler_calls += own.scheduler_calls
        result.notes += own.notes

    def resend(self, store: Store, jobs: list[tuple[int, str, list[str]]], echo: Echo) -> list[SubmittedJob]:
        raise NotImplementedError("Slurm attempts are resubmitted from their scripts")

    def check_available(self) -> None:
        from pbt_tracker import slurm

        slurm.require_command("sbatch")
