"""An NGC launch from either command line, told as the original launcher tells it.

The base commands, the flattened template, each job's name and command,
then Done!; each command runs without a shell, on record before it runs,
with ngc's answer recorded as soon as it comes.
"""

from __future__ import annotations

import sys

from pbt_tracker.backends.ngc.launch import plan_ngc_launch, require_ngc, submit_ngc_launch
from pbt_tracker.backends.ngc.options import NgcLaunchOptions
from pbt_tracker.run_description import RunDescription

__all__ = ["launch_ngc"]


def launch_ngc(run_description: RunDescription, options: NgcLaunchOptions) -> int:
    plan = plan_ngc_launch(run_description, options)
    if not options.print_only:
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
        if not job.uncertain:
            print(f"FAILED to submit {job.experiment}: {job.error}")
    print(f"Recorded in {result.db_path} (launch {result.launch_id})")
    uncertain = [job for job in result.failed if job.uncertain]
    if uncertain:
        print(f"{len(uncertain)} of {len(result.jobs)} experiments may have been submitted: ngc did not answer; "
              "check `ngc batch list` before sending them again (`pbt-track resubmit-failed --include-uncertain`).")
    if len(uncertain) < len(result.failed):
        print(f"{len(result.failed) - len(uncertain)} of {len(result.jobs)} experiments were not submitted. "
              "`pbt-track resubmit-failed` sends them again.")
    if result.failed:
        return 1
    print("Done!")
    return 0
