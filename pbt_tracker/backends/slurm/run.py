"""A Slurm launch from either command line: planned, sent, and told the way each command line tells it.

The launcher (`python -m pbt_tracker.launcher.run`) prints what the original
prints: the base commands, the template, a line per sbatch, a tail -f hint
and the scancel command. `pbt-track submit` prints a progress line and a
summary instead (`compact`), with the per-job lines only when asked (`verbose`).
"""

from __future__ import annotations

import sys

from pbt_tracker.backends.slurm.launch import LaunchResult, submit_slurm_launch
from pbt_tracker.backends.slurm.launch_plan import SlurmPlan, plan_slurm_launch
from pbt_tracker.backends.slurm.options import SlurmLaunchOptions
from pbt_tracker.backends.slurm.script import tail_hint
from pbt_tracker.launch.record import SubmittedJob, quiet
from pbt_tracker.run_description import RunDescription

__all__ = ["compact_summary_lines", "launch_slurm", "summary_lines"]


def launch_slurm(run_description: RunDescription, options: SlurmLaunchOptions, compact: bool = False,
                 verbose: bool = False) -> int:
    plan = plan_slurm_launch(run_description, options)
    if compact:
        return _launch_compact(run_description, plan, verbose)

    print(f"Starting processes with base cmds: {[e.cmd for e in run_description.experiments]}")
    for warning in plan.warnings:
        print(f"Warning: {warning}", file=sys.stderr)
    print(f"Sbatch template: {plan.template_text}")

    result = submit_slurm_launch(plan, echo=print)
    for line in summary_lines(result):
        print(line)
    return 1 if result.failed else 0


def summary_lines(result: LaunchResult) -> list[str]:
    lines = []
    if result.print_only:
        lines.append(f"Print only: {len(result.jobs)} sbatch scripts written, nothing submitted.")
    else:
        lines.append(f"Monitor log files using\n\n\t {tail_hint(result.workdir)} \n")
        lines.append(f"Jobs queued: {result.job_ids!r}")
        if result.job_ids:
            lines.append(f"Use this command to cancel your jobs: \n\t scancel {' '.join(result.cancel_ids)} \n")
        lines.append(f"{result.workdir / 'scancel.sh'} cancels every job of this workdir that may still run.")
    lines += failure_lines(result.failed)
    lines.append(f"Recorded in {result.db_path} (launch {result.launch_id})")
    lines += count_lines(result, "")
    if not result.failed:
        lines.append("Done!")
    return lines


def failure_lines(failed: list[SubmittedJob]) -> list[str]:
    """A refusal is a failure; a lost answer is not known to be one, and is not called one."""
    return [f"{job.experiment} may have been submitted ({job.error}); pbt-track will find out at the next sync"
            if job.uncertain else f"FAILED to submit {job.experiment}: {job.error}" for job in failed]


def count_lines(result: LaunchResult, resubmit_hint: str) -> list[str]:
    refused = [job for job in result.failed if not job.uncertain]
    uncertain = len(result.failed) - len(refused)
    lines = []
    if refused:
        lines.append(f"{len(refused)} of {len(result.jobs)} experiments were not submitted.{resubmit_hint}")
    if uncertain:
        lines.append(f"{uncertain} of {len(result.jobs)} experiments may have been submitted; pbt-track will find "
                     f"out at the next sync (`pbt-track sync --workdir {result.workdir}`)")
    return lines


def _launch_compact(run_description: RunDescription, plan: SlurmPlan, verbose: bool) -> int:
    """`pbt-track submit`'s output: a progress line and a summary instead of a line per job (`-v` adds them)."""
    import signal

    from pbt_tracker.backends.slurm.progress import Progress, array_hint, interrupted_lines

    options = plan.options
    for warning in plan.warnings:
        print(f"Warning: {warning}", file=sys.stderr)
    count = len(plan.jobs)
    how = f" as {len(plan.arrays)} job array(s)" if plan.arrays else ""
    print(f"{'Writing' if options.print_only else 'Submitting'} {count} experiment(s) of run "
          f"{run_description.run_name}{how}")
    hint = None if options.print_only else array_hint(count, options.pause_between, bool(plan.arrays))
    if hint:
        print(hint)
    progress = Progress(sys.stderr) if not (plan.arrays or options.print_only) else None
    previous = signal.signal(signal.SIGINT, progress.request_stop) if progress else None
    try:
        result = submit_slurm_launch(plan, echo=print if verbose or options.print_only else quiet, progress=progress)
    except KeyboardInterrupt:
        sent = progress.sent if progress else 0
        for line in interrupted_lines(sent, count, options.workdir / "pbt_tracker.db"):
            print(line, file=sys.stderr)
        return 130
    finally:
        if progress:
            signal.signal(signal.SIGINT, previous)
    for line in compact_summary_lines(result):
        print(line)
    return 1 if result.failed else 0


def compact_summary_lines(result: LaunchResult) -> list[str]:
    from pbt_tracker.backends.slurm.progress import job_id_ranges

    if result.print_only:
        return [f"Print only: {len(result.jobs)} sbatch scripts written, nothing submitted.",
                f"Recorded in {result.db_path} (launch {result.launch_id})"]
    lines = [f"Submitted {len(result.job_ids)} of {len(result.jobs)} experiment(s): jobs "
             f"{job_id_ranges(result.job_ids) or 'none'}"]
    lines += failure_lines(result.failed)
    if result.job_ids:
        first = next(job.experiment for job in result.jobs if job.job_id)
        lines.append(f"Follow a log: pbt-track logs {first} -f --workdir {result.workdir}")
        lines.append(f"Cancel them all: {result.workdir / 'scancel.sh'}")
    lines.append(f"Recorded in {result.db_path} (launch {result.launch_id})")
    from pbt_tracker.backends.slurm.resources import resubmit_hint

    lines += count_lines(result, resubmit_hint([job.error for job in result.failed if not job.uncertain]))
    return lines
