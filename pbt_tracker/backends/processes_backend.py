"""Local processes: run here under a keeper, followed by pid and exit file, stopped by signal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pbt_tracker.backends.base import LOCAL

if TYPE_CHECKING:
    from pbt_tracker.store import Store
    from pbt_tracker.tracker.record import Echo, SubmittedJob
    from pbt_tracker.tracker.sync import SyncResult


class ProcessesBackend:
    name = "processes"
    requeues_jobs = False
    follows_jobs = True
    cancels_with_scancel = False
    stops_locally = True
    cancel_advice = None
    report_note = None
    log_advice = None
    resubmission = LOCAL

    def sync(self, store: Store, result: SyncResult) -> None:
        from pbt_tracker.tracker.local import sync_processes

        asked, changed, notes = sync_processes(store)
        result.asked += asked
        result.changed += changed
        result.notes += notes

    def resend(self, store: Store, jobs: list[tuple[int, str, list[str]]], echo: Echo) -> list[SubmittedJob]:
        raise NotImplementedError("local attempts are run again by the runner")

    def check_available(self) -> None:
        """Local processes need nothing but this Python."""
