"""Local processes: run here under a keeper, followed by pid and exit file, stopped by signal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from pbt_tracker.backends.base import CancelTarget, Stopped

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Mapping
    from datetime import datetime

    from pbt_tracker.backends.base import Resubmitter, SyncResult
    from pbt_tracker.backends.processes.options import ProcessesLaunchOptions
    from pbt_tracker.backends.resubmission import ResubmitRequest, ResubmitResult
    from pbt_tracker.launch.option_table import Option
    from pbt_tracker.launch.options import LaunchOptions
    from pbt_tracker.run_description import RunDescription
    from pbt_tracker.store import Store

from pbt_tracker.backends.processes import NAME


class ProcessesBackend:
    name = NAME
    title = "local processes"
    requeues_jobs = False
    follows_jobs = True
    runs_sbatch_scripts = False
    cancels_before_start = True
    settles_lost_answers = True
    cancel_advice: str | None = None
    report_note: str | None = None
    log_advice: str | None = None

    def option_rows(self) -> tuple[Option, ...]:
        from pbt_tracker.backends.processes.option_rows import OPTIONS

        return OPTIONS

    def common_defaults(self) -> Mapping[str, Any]:
        return {}

    def launch_options(self, settled: dict[str, Any], recorded: bool) -> LaunchOptions:
        from pbt_tracker.backends.processes.options import processes_launch_options

        return processes_launch_options(settled, recorded)

    def command_python(self, options: LaunchOptions) -> str | None:
        """The training environment's interpreter when one is named, else pbt-track's own, as the original did."""
        from pbt_tracker import processes

        return processes.leading_python(options.python)

    def launch(self, run_description: RunDescription, options: LaunchOptions, compact: bool, verbose: bool) -> int:
        from pbt_tracker.backends.processes.run import launch_processes

        return launch_processes(run_description, cast("ProcessesLaunchOptions", options))

    def sync(self, store: Store, result: SyncResult) -> None:
        from pbt_tracker.backends.processes.end import sync_processes

        asked, changed, notes = sync_processes(store)
        result.asked += asked
        result.changed += changed
        result.notes += notes

    def settle_cancelled(self, store: Store, submission_ids: list[int], result: SyncResult,
                         settling: Any = None) -> None:
        """Never given any: its `stop` records each end itself and accepts nothing for a sync to settle."""

    def jobs_changed(self, store: Store) -> None:
        """Nothing derives from its jobs but the record."""

    def check_cancel(self, targets: list[CancelTarget]) -> None:
        """A process can only be signalled on its own host."""
        from pbt_tracker import processes
        from pbt_tracker.errors import OptionError

        here = processes.hostname()
        elsewhere = sorted({target.host for target in targets if target.host and target.host != here})
        if elsewhere:
            raise OptionError(
                f"some of these experiments run on {', '.join(elsewhere)}; "
                "run this cancel there (local processes can only be stopped on their own host)"
            )

    def cancel_command(self, targets: list[CancelTarget]) -> list[str]:
        return []

    def mark_cancelling(self, connection: sqlite3.Connection, targets: list[CancelTarget], now: datetime) -> None:
        """Every target is asked to stop; a queued one is cancelled here, so its runner never starts it."""
        from pbt_tracker import states
        from pbt_tracker.backends.processes.end import record_end
        from pbt_tracker.store import queries, writes

        writes.request_cancel(connection, [target.submission_id for target in targets], now)
        for target in targets:
            if target.state == states.PENDING:
                record_end(connection, queries.submission(connection, target.submission_id), states.CANCELLED,
                           None, "cancelled before it started")

    def stop(self, store: Store, targets: list[CancelTarget], settle: bool = False) -> Stopped:
        """SIGTERM to each started one's process group, SIGKILL after a grace period; each end is recorded."""
        from pbt_tracker import processes, states
        from pbt_tracker.backends.processes.end import EXIT_DIR, record_end
        from pbt_tracker.processes import ProcessId
        from pbt_tracker.store import queries

        started = [target for target in targets if target.job_id]
        if not started:
            return Stopped()
        here = processes.hostname()
        processes.terminate_groups([ProcessId(int(t.job_id or 0), t.process_start, here) for t in started])
        for target in started:
            code = processes.read_exit_file(store.workdir / EXIT_DIR / str(target.submission_id))
            with store.write() as connection:
                record_end(connection, queries.submission(connection, target.submission_id), states.CANCELLED, code,
                           "cancelled")
        return Stopped()

    def resubmitter(self, store: Store, request: ResubmitRequest, result: ResubmitResult) -> Resubmitter:
        from pbt_tracker.backends.processes.resubmit import ProcessesResubmitter

        return ProcessesResubmitter(store, request, result)

    def check_available(self) -> None:
        """Local processes need nothing but this Python."""
