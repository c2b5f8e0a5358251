"""NGC: one `ngc` command per experiment; pbt-track records its answer and follows the job no further.

NGC's own service and CLI keep the job's later states (`ngc batch list`), and
pbt-track has no way to ask them on a machine without NGC access, so
SUBMITTED is the last state the record holds; sync leaves these jobs alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from pbt_tracker.backends.base import CancelTarget, Stopped

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Mapping
    from datetime import datetime

    from pbt_tracker.backends.base import Resubmitter, SyncResult
    from pbt_tracker.backends.ngc.options import NgcLaunchOptions
    from pbt_tracker.backends.resubmission import ResubmitRequest, ResubmitResult
    from pbt_tracker.launch.option_table import Option
    from pbt_tracker.launch.options import LaunchOptions
    from pbt_tracker.run_description import RunDescription
    from pbt_tracker.store import Store

from pbt_tracker.backends.ngc import NAME

CANCEL_ADVICE = "NGC jobs are cancelled with the ngc CLI (ngc batch kill ID)"
LOG_ADVICE = "NGC keeps the logs of its jobs; read them with the ngc CLI or in NGC's web interface"
REPORT_NOTE = (
    "Note: pbt-track records NGC jobs until ngc accepts them (SUBMITTED) or refuses them (SUBMIT_FAILED); "
    "their later states are NGC's to show: `ngc batch list`"
)


class NgcBackend:
    name = NAME
    title = "NGC"
    requeues_jobs = False
    follows_jobs = False
    runs_sbatch_scripts = False
    cancels_before_start = False
    cancel_advice: str | None = CANCEL_ADVICE
    report_note: str | None = REPORT_NOTE
    log_advice: str | None = LOG_ADVICE

    def option_rows(self) -> tuple[Option, ...]:
        from pbt_tracker.backends.ngc.option_rows import OPTIONS

        return OPTIONS

    def common_defaults(self) -> Mapping[str, Any]:
        from pbt_tracker.backends.ngc.option_rows import COMMON_DEFAULTS

        return COMMON_DEFAULTS

    def launch_options(self, settled: dict[str, Any], recorded: bool) -> LaunchOptions:
        from pbt_tracker.backends.ngc.options import ngc_launch_options

        return ngc_launch_options(settled, recorded)

    def command_python(self, options: LaunchOptions) -> str | None:
        """Each job's environment decides which `python` its command runs."""
        return None

    def launch(self, run_description: RunDescription, options: LaunchOptions, compact: bool, verbose: bool) -> int:
        from pbt_tracker.backends.ngc.run import launch_ngc

        return launch_ngc(run_description, cast("NgcLaunchOptions", options))

    def sync(self, store: Store, result: SyncResult) -> None:
        """Nothing to ask: NGC's answer at submission is the last the record gets."""

    def settle_cancelled(self, store: Store, submission_ids: list[int], result: SyncResult) -> None:
        """Never given any (see check_cancel)."""

    def jobs_changed(self, store: Store) -> None:
        """Nothing derives from its jobs but the record."""

    def check_cancel(self, targets: list[CancelTarget]) -> None:
        """Never given a target: cancel leaves the jobs of a backend with cancel advice alone."""

    def cancel_command(self, targets: list[CancelTarget]) -> list[str]:
        return []

    def mark_cancelling(self, connection: sqlite3.Connection, targets: list[CancelTarget], now: datetime) -> None:
        """Never given a target (see check_cancel)."""

    def stop(self, store: Store, targets: list[CancelTarget]) -> Stopped:
        """Never given a target (see check_cancel)."""
        return Stopped()

    def resubmitter(self, store: Store, request: ResubmitRequest, result: ResubmitResult) -> Resubmitter:
        from pbt_tracker.backends.ngc.resubmit import CommandResubmitter

        return CommandResubmitter(store, request, result)

    def check_available(self) -> None:
        from pbt_tracker.backends.ngc.launch import require_ngc

        require_ngc()
