"""The Slurm backend with the original launcher's API, flags and output, made stateful.

`run_slurm(run_description, args)` behaves like the launcher people know:
one sbatch script per experiment in the workdir, one sbatch each, a tail -f
hint and scancel.sh. In addition every script, submission and job id goes
into the workdir's database, and a failed sbatch no longer ends the launch.
The launch itself is the Slurm backend's (`backends.slurm.run`); this module
keeps the original's names for it.
"""

from __future__ import annotations

import argparse
from typing import cast

from pbt_tracker.backends.options import add_arguments, launch_options
from pbt_tracker.backends.slurm import NAME as SLURM
from pbt_tracker.backends.slurm.options import SlurmLaunchOptions
from pbt_tracker.backends.slurm.run import compact_summary_lines, launch_slurm, summary_lines
from pbt_tracker.backends.slurm.script import SBATCH_TEMPLATE_DEFAULT
from pbt_tracker.launch.option_table import str2bool
from pbt_tracker.run_description import RunDescription

__all__ = ["SBATCH_TEMPLATE_DEFAULT", "add_slurm_args", "compact_summary_lines", "launch_slurm", "run_slurm",
           "str2bool", "summary_lines"]


def add_slurm_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    return add_arguments(parser, SLURM)


def run_slurm(run_description: RunDescription, args: argparse.Namespace) -> int:
    """Write, record and submit one sbatch script per experiment; 0 when every job was queued."""
    values = {**vars(args), "experiment_suffix": run_description.experiment_suffix}
    options = cast(SlurmLaunchOptions, launch_options(values, SLURM, run_name=run_description.run_name))
    return launch_slurm(run_description, options)
