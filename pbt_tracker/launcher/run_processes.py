"""The local processes backend, with the original's flags, recorded in the workdir's database.

Without a cluster the same run description runs on this machine: at most
--max_parallel experiments at once, each with its output in a log file of
the workdir, each tracked like a Slurm job (its pid as job id), so that
`pbt-track report`, `cancel` and `resubmit-failed` work the same. The launch
itself is the processes backend's (`backends.processes.run`); this module
keeps the original's names for it.
"""

from __future__ import annotations

import argparse
from typing import cast

from pbt_tracker.backends.options import add_arguments, launch_options
from pbt_tracker.backends.processes import NAME as PROCESSES
from pbt_tracker.backends.processes.options import ProcessesLaunchOptions
from pbt_tracker.backends.processes.run import launch_processes
from pbt_tracker.run_description import RunDescription

__all__ = ["add_os_parallelism_args", "launch_processes", "run"]


def add_os_parallelism_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The processes backend's flags. The original launcher's name for them, kept for code that calls it."""
    return add_arguments(parser, PROCESSES)


def run(run_description: RunDescription, args: argparse.Namespace) -> int:
    """Run every experiment locally and wait for them; 0 when all completed, 130 on Ctrl-C."""
    values = {**vars(args), "experiment_suffix": run_description.experiment_suffix}
    options = cast(ProcessesLaunchOptions, launch_options(values, PROCESSES, run_name=run_description.run_name))
    return launch_processes(run_description, options)
