"""The NGC backend with the original launcher's flags and output, made stateful.

`run_ngc(run_description, args)` prints what the launcher people know
(the base commands, the flattened template, each job's name and command, then
Done!) and runs each command without a shell; every command, and what ngc
answered to it, goes into the workdir's database first. The launch itself
is the NGC backend's (`backends.ngc.run`); this module keeps the original's
names for it.
"""

from __future__ import annotations

import argparse
from typing import cast

from pbt_tracker.backends.ngc import NAME as NGC
from pbt_tracker.backends.ngc.options import NgcLaunchOptions
from pbt_tracker.backends.ngc.run import launch_ngc
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
