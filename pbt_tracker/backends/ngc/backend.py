"""NGC: one `ngc batch run` per experiment, followed by `ngc batch list`/`info`, cancelled by `ngc batch kill`.

The job id ngc prints at submission is recorded, as sbatch's is; where it
cannot be read, the attempt stays SUBMITTED without one, which no sync can
settle: `forget --purge --unidentified-ended` is how a user who has checked
with `ngc batch list` says such attempts have ended.
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

LOG_ADVICE = "NGC keeps the logs of its jobs; read them with the ngc CLI or in NGC's web interface"


class NgcBackend:
    name = NAME
    title = "NGC"
    requeues_jobs = False
    follows_jobs = True
    runs_sbatch_scripts = False
    cancels_before_start = False
    settles_lost_answers = False
    cancel_advice: str | None = None
    report_note: str | None = None
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
        from pbt_tracker.backends.ngc.follow import sync_ngc

        result.add(sync_ngc(store))

    def settle_cancelled(self, store: Store, submission_ids: list[int], result: SyncResult,
                         settling: Any = None) -> None:
        """`ngc batch info` for each job the kill was taken for; KILLED_BY_USER makes it CANCELLED."""
        from pbt_tracker.backends.ngc.follow import sync_ngc

        result.add(sync_ngc(store, submission_ids))

    def jobs_changed(self, store: Store) -> None:
        """Nothing derives from its jobs but the record."""

    def check_cancel(self, targets: list[CancelTarget]) -> None:
        """Refused before anything is recorded where the ngc CLI is missing."""
        import shutil

        from pbt_tracker.errors import OptionError

        if shutil.which("ngc") is None:
            raise OptionError("ngc was not found on PATH, and NGC jobs are cancelled with it; install the NGC CLI "
                              "here, or cancel where it is")

    def cancel_command(self, targets: list[CancelTarget]) -> list[str]:
        from pbt_tracker.backends.ngc.follow import kill_argv

        return kill_argv([target.job_id for target in targets if target.job_id])

    def mark_cancelling(self, connection: sqlite3.Connection, targets: list[CancelTarget], now: datetime) -> None:
        """Nothing yet: a job is marked as asked to cancel only once ngc has taken its kill request."""

    def stop(self, store: Store, targets: list[CancelTarget], settle: bool = False) -> Stopped:
        from pbt_tracker.backends.ngc.follow import kill

        return kill(targets)

    def resubmitter(self, store: Store, request: ResubmitRequest, result: ResubmitResult) -> Resubmitter:
        from pbt_tracker.backends.ngc.resubmit import CommandResubmitter

        return CommandResubmitter(store, request, result)

    def check_available(self) -> None:
        from pbt_tracker.backends.ngc.launch import require_ngc

        require_ngc()
