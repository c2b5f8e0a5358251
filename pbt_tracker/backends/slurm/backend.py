"""Slurm: sbatch scripts, followed by squeue and sacct, cancelled with one scancel call."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from pbt_tracker.backends.base import CancelTarget, Stopped

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Mapping
    from datetime import datetime

    from pbt_tracker.backends.base import Resubmitter, SyncResult
    from pbt_tracker.backends.slurm.options import SlurmLaunchOptions
    from pbt_tracker.backends.resubmission import ResubmitRequest, ResubmitResult
    from pbt_tracker.launch.option_table import Option
    from pbt_tracker.launch.options import LaunchOptions
    from pbt_tracker.run_description import RunDescription
    from pbt_tracker.store import Store

from pbt_tracker.backends.slurm import NAME


class SlurmBackend:
    name = NAME
    title = "Slurm"
    requeues_jobs = True
    follows_jobs = True
    runs_sbatch_scripts = True
    cancels_before_start = False
    settles_lost_answers = True
    cancel_advice: str | None = None
    report_note: str | None = None
    log_advice: str | None = None

    def option_rows(self) -> tuple[Option, ...]:
        from pbt_tracker.backends.slurm.option_rows import OPTIONS

        return OPTIONS

    def common_defaults(self) -> Mapping[str, Any]:
        return {}

    def launch_options(self, settled: dict[str, Any], recorded: bool) -> LaunchOptions:
        from pbt_tracker.backends.slurm.options import slurm_launch_options

        return slurm_launch_options(settled, recorded)

    def command_python(self, options: LaunchOptions) -> str | None:
        """Each job's environment decides which `python` its command runs."""
        return None

    def launch(self, run_description: RunDescription, options: LaunchOptions, compact: bool, verbose: bool) -> int:
        from pbt_tracker.backends.slurm.run import launch_slurm

        return launch_slurm(run_description, cast("SlurmLaunchOptions", options), compact=compact, verbose=verbose)

    def sync(self, store: Store, result: SyncResult) -> None:
        """sync_slurm's answer added to `result`; scancel.sh follows when a job changed."""
        from pbt_tracker.backends.slurm.listing import start_listing

        started = start_listing(store)  # squeue runs from here, while the rest of the sync loads and reads
        if started is None:
            return
        from pbt_tracker.backends.slurm.scancel_sh import write_scancel_script
        from pbt_tracker.backends.slurm.sync import sync_slurm

        own = sync_slurm(store, started)
        if own.changed:
            write_scancel_script(store)
        result.add(own)

    def settle_cancelled(self, store: Store, submission_ids: list[int], result: SyncResult,
                         settling: Any = None) -> None:
        """One squeue listing of these jobs (sacct only for those it no longer shows); scancel.sh follows a change."""
        from pbt_tracker.backends.slurm.sync import sync_cancelled

        result.add(sync_cancelled(store, submission_ids, settling))

    def jobs_changed(self, store: Store) -> None:
        """scancel.sh lists every job of the workdir that may still run."""
        from pbt_tracker.backends.slurm.scancel_sh import write_scancel_script

        write_scancel_script(store)

    def check_cancel(self, targets: list[CancelTarget]) -> None:
        """scancel reaches the cluster's jobs from any host that can submit to it."""

    def cancel_command(self, targets: list[CancelTarget]) -> list[str]:
        """A whole array is named by its id, part of one by its task ranges: one request each, not one per task."""
        return ["scancel", *(argument for argument, _ in _arguments(targets))]

    def mark_cancelling(self, connection: sqlite3.Connection, targets: list[CancelTarget], now: datetime) -> None:
        """Nothing yet: a job is marked as asked to cancel only once scancel has accepted it."""

    def stop(self, store: Store, targets: list[CancelTarget], settle: bool = False) -> Stopped:
        """All the targets in one scancel call, believed job by job (see `pbt_tracker.backends.slurm.scancel_answer`).

        With `settle`, the squeue listing of the jobs scancel accepted starts
        as soon as it answers, while cancel writes that answer down.
        """
        from pbt_tracker.backends.slurm import commands as slurm
        from pbt_tracker.errors import SchedulerTimeout
        from pbt_tracker.in_background import InBackground

        arguments = _arguments(targets)
        asked = InBackground(lambda: slurm.scancel([argument for argument, _ in arguments]))
        # What reads scancel's answer, and starts the settling squeue, is loaded while scancel runs.
        from pbt_tracker.backends.slurm.scancel_answer import read_scancel_answer

        if settle:
            from pbt_tracker.backends.slurm.listing import list_cancelled
        try:
            outcome = asked.result()
        except SchedulerTimeout as error:  # scancel may have reached the controller before it stopped answering
            return Stopped(lost={job_id: "timed out" for _, job_ids in arguments for job_id in job_ids},
                           returncode=None, stderr=str(error))
        named = list(dict.fromkeys([*(argument for argument, _ in arguments),
                                    *(job_id for _, job_ids in arguments for job_id in job_ids)]))
        answer = read_scancel_answer(named, outcome.returncode, outcome.stderr)
        refused, lost = {}, {}  # a refusal of an array or its ranges is one of each of its tasks; a loss likewise
        for argument, job_ids in arguments:
            for job_id in job_ids:
                reason = answer.refused.get(job_id) or answer.refused.get(argument)
                if reason is not None:
                    refused[job_id] = reason
                how = answer.lost.get(job_id) or answer.lost.get(argument)
                if how is not None:
                    lost[job_id] = how
        accepted = [t for t in targets if t.job_id and t.job_id not in refused | lost]
        settling = None
        if settle and accepted:
            settling = list_cancelled([t.job_id for t in accepted if t.job_id])
        return Stopped([t.submission_id for t in accepted], refused, outcome.returncode, outcome.stdout,
                       outcome.stderr, lost, settling)

    def resubmitter(self, store: Store, request: ResubmitRequest, result: ResubmitResult) -> Resubmitter:
        from pbt_tracker.backends.slurm.resubmit import ScriptResubmitter

        return ScriptResubmitter(store, request, result)

    def check_available(self) -> None:
        from pbt_tracker.backends.slurm import commands as slurm

        slurm.require_command("sbatch")


def _arguments(targets: list[CancelTarget]) -> list[tuple[str, list[str]]]:
    from pbt_tracker.backends.slurm.job_units import scancel_arguments

    return scancel_arguments((target.job_id, target.array_tasks) for target in targets if target.job_id)
