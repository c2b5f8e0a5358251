"""A Slurm launch's options: its dataclass, built from the table's settled values, and where its workdir is.

Slurm's workdir has two spellings, --workdir and the original's
--slurm_workdir, and no default: the sbatch scripts, logs and scancel.sh
must land where the user said, not in the train dir.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pbt_tracker.backends.slurm.option_rows import OPTION
from pbt_tracker.backends.slurm.script import SlurmResources
from pbt_tracker.errors import OptionError
from pbt_tracker.launch.options import LaunchOptions, common_fields


def _default(name: str) -> Any:
    return OPTION[name].default


@dataclass(frozen=True)
class SlurmLaunchOptions(LaunchOptions):
    """A Slurm launch's own options."""

    resources: SlurmResources = field(default_factory=lambda: _slurm_resources({}))
    template_path: str | None = _default("slurm_sbatch_template")
    print_only: bool = _default("slurm_print_only")
    array: bool = _default("slurm_array")
    array_limit: int | None = _default("slurm_array_limit")  # sbatch --array's %N: at most N tasks at once

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.array_limit is not None:
            if self.array_limit < 1:
                raise OptionError(f"--slurm_array_limit must be 1 or more, not {self.array_limit}")
            if not self.array:
                raise OptionError("--slurm_array_limit needs --slurm_array true")


def _slurm_resources(values: Mapping[str, Any]) -> SlurmResources:
    def value(name: str) -> Any:
        return values.get(name, _default(name))

    return SlurmResources(gpus_per_job=value("slurm_gpus_per_job"), cpus_per_gpu=value("slurm_cpus_per_gpu"),
                          partition=value("slurm_partition"), timeout=str(value("slurm_timeout")))


def slurm_launch_options(settled: dict[str, Any], recorded: bool) -> SlurmLaunchOptions:
    """The dataclass, once both spellings of the workdir have been made one (and recorded as one)."""
    settled["workdir"] = settled["slurm_workdir"] = _workdir(settled, recorded)
    return SlurmLaunchOptions(
        **common_fields(settled), resources=_slurm_resources(settled), template_path=settled["slurm_sbatch_template"],
        print_only=settled["slurm_print_only"], array=settled["slurm_array"], array_limit=settled["slurm_array_limit"],
    )


def _workdir(settled: Mapping[str, Any], recorded: bool) -> str:
    """Given twice, the two must agree; a record written before the table kept both, and the launch used the second."""
    workdir, slurm_workdir = settled["workdir"], settled["slurm_workdir"]
    if recorded and slurm_workdir:
        return slurm_workdir
    if workdir and slurm_workdir and os.path.abspath(workdir) != os.path.abspath(slurm_workdir):
        raise OptionError(
            f"--workdir {workdir} and --slurm_workdir {slurm_workdir} name two different workdirs; pass only one"
        )
    if not (slurm_workdir or workdir):
        raise OptionError("the Slurm backend needs a workdir; pass --slurm_workdir DIR (or --workdir DIR)")
    return slurm_workdir or workdir
