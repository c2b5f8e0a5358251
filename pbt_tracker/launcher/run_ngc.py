"""The NGC backend with the original launcher's flags and output, made stateful.

`run_ngc(run_description, args)` prints what the launcher people know
(the base commands, the flattened template, each job's name and command, then
Done!) and runs each command without a shell; every command, and what ngc
answered to it, goes into the workdir's database first.
"""

from __future__ import annotations

import argparse
import sys
from typing import cast

from pbt_tracker.backends.ngc import NAME as NGC
from pbt_tracker.backends.ngc.options import NgcLaunchOptions
from pbt_tracker.backends.options import add_arguments, launch_options
from pbt_tracker.run_description import RunDescription

__all__ = ["add_ngc_args", "launch_ngc", "run_ngc"]


def add_ngc_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """--ngc_job_template and --ngc_print_only; with them --pause_between defaults to 0, as in the original."""
    return add_arguments(parser, NGC)


def run_ngc(run_description: RunDescription, args: argparse.Namespace) -> int:
    """Record and run one ngc command per experiment; 0 when ngc accepted every one."""
    values = {**vars(args), "experiment_suffix": run_description.experiment_suffix}
    options = cast(NgcLaunchOptions, launch_options(values, NGC, run_name=run_description.run_name))
    return launch_ngc(run_description, options)


def launch_ngc(run_description: RunDescription, options: NgcLaunchOptions) -> int:
    from pbt_tracker.backends.ngc.launch import plan_ngc_launch, submit_ngc_launch

    plan = plan_ngc_launch(run_description, options)
    if not options.print_only:
        from pbt_tracker.backends.ngc.launch import require_ngc

        require_ngc()
    print(f"Starting processes with base cmds: {[e.cmd for e in run_description.experiments]}")
    for warning in plan.warnings:
        print(f"Warning: {warning}", file=sys.stderr)
    print(f"NGC template: {plan.flat_template}")
    print(f"{len(plan.specs)} experiments to run")
    result = submit_ngc_launch(plan, echo=print)
    if result.print_only:
        print(f"Print only: {len(result.jobs)} ngc commands shown, nothing run.")
    for job in result.failed:
        print(f"FAILED to submit {job.experiment}: {job.error}")
    print(f"Recorded in {result.db_path} (launch {result.launch_id})")
    if result.failed:
        print(f"{len(result.failed)} of {len(result.jobs)} experiments were not submitted. "
              "`pbt-track resubmit-failed` sends them again.")
        return 1
    print("Done!")
    return 0
