"""The Slurm backend with the original launcher's API, flags and output, made stateful.

`run_slurm(run_description, args)` behaves like the launcher people know:
one sbatch script per experiment in the workdir, one sbatch each, a tail -f
hint and scancel.sh. In addition every script, submission and job id goes
into the workdir's database, and a failed sbatch no longer ends the launch.
"""

from __future__ import annotations

import argparse
import sys
from typing import cast

from pbt_tracker.launch_options import SLURM, SlurmLaunchOptions, add_arguments, launch_options, str2bool
from pbt_tracker.run_description import RunDescription
from pbt_tracker.sbatch_script import SBATCH_TEMPLATE_DEFAULT, tail_hint
from pbt_tracker.tracker.launch import LaunchResult, plan_slurm_launch, submit_slurm_launch

__all__ = ["SBATCH_TEMPLATE_DEFAULT", "add_slurm_args", "run_slurm", "str2bool"]


def add_slurm_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    return add_arguments(parser, SLURM)


def run_slurm(run_description: RunDescription, args: argparse.Namespace) -> int:
    """Write, record and submit one sbatch script per experiment; 0 when every job was queued."""
    values = {**vars(args), "experiment_suffix": run_description.experiment_suffix}
    options = cast(SlurmLaunchOptions, launch_options(values, SLURM, run_name=run_description.run_name))
    return launch_slurm(run_description, options)


def launch_slurm(run_description: RunDescription, options: SlurmLaunchOptions) -> int:
    plan = plan_slurm_launch(run_description, options)

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
    for job in result.failed:
        lines.append(f"FAILED to submit {job.experiment}: {job.error}")
    lines.append(f"Recorded in {result.db_path} (launch {result.launch_id})")
    if result.failed:
        lines.append(f"{len(result.failed)} of {len(result.jobs)} experiments were not submitted.")
    else:
        lines.append("Done!")
    return lines
