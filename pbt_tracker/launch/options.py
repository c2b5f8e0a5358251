"""Launch options: from either command line's values, or from a record, to one dataclass per backend.

`pbt-track submit`'s click options and `python -m pbt_tracker.launcher.run`'s
argparse flags are both made from the one table (launch_option_table), both
parsers' values go through `launch_options` into the same dataclass, and the
record keeps the settled values, from which `launch_options_from_record`
rebuilds that dataclass for a resubmission. A default or a check written
anywhere else would let the two command lines, the record and resubmission
drift apart again.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pbt_tracker.backends.slurm.script import SlurmResources
from pbt_tracker.errors import OptionError
from pbt_tracker.launch.option_table import (
    BACKENDS,
    COMMON,
    NGC,
    OPTION,
    OPTIONS,
    PROCESSES,
    SLURM,
    Option,
    str2bool,
)

__all__ = [
    "BACKENDS", "COMMON", "NGC", "OPTION", "OPTIONS", "PROCESSES", "SLURM", "LaunchOptions", "NgcLaunchOptions",
    "Option", "ProcessesLaunchOptions", "SlurmLaunchOptions", "add_arguments", "launch_options",
    "launch_options_from_record", "settled_values", "str2bool",
]


def _default(name: str) -> Any:
    return OPTION[name].default


# --- the launch options, built from the table's values ---------------------------------------


@dataclass(frozen=True)
class LaunchOptions:
    """What every launch needs besides the run description, whatever the backend."""

    workdir: Path
    run_module: str
    train_dir: str = _default("train_dir")
    experiment_suffix: str = _default("experiment_suffix")
    pause_between: float = _default("pause_between")
    recorded_options: dict[str, Any] = field(default_factory=dict)  # every option of the table, settled

    def __post_init__(self) -> None:
        if math.isnan(self.pause_between) or math.isinf(self.pause_between):
            raise OptionError(f"--pause_between must be a finite number of seconds, not {self.pause_between:g}")
        if self.pause_between < 0:
            raise OptionError(f"--pause_between must be 0 or more seconds, not {self.pause_between:g}")


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


@dataclass(frozen=True)
class ProcessesLaunchOptions(LaunchOptions):
    """A local launch's own options, as the original launcher's processes backend has them."""

    max_parallel: int = _default("max_parallel")
    num_gpus: int = _default("num_gpus")
    experiments_per_gpu: int = _default("experiments_per_gpu")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_parallel < 1:
            raise OptionError(f"--max_parallel must be 1 or more, not {self.max_parallel}")
        if self.experiments_per_gpu == 0 or self.experiments_per_gpu < -1:
            raise OptionError(
                f"--experiments_per_gpu must be -1 (leave CUDA_VISIBLE_DEVICES alone) or 1 or more, "
                f"not {self.experiments_per_gpu}"
            )
        if self.experiments_per_gpu > 0 and self.num_gpus < 1:
            raise OptionError(f"--num_gpus must be 1 or more with --experiments_per_gpu, not {self.num_gpus}")


@dataclass(frozen=True)
class NgcLaunchOptions(LaunchOptions):
    """An NGC launch's own options."""

    pause_between: float = OPTION["pause_between"].default_for(NGC)
    job_template: str | None = _default("ngc_job_template")
    print_only: bool = _default("ngc_print_only")


def _slurm_resources(values: Mapping[str, Any]) -> SlurmResources:
    def value(name: str) -> Any:
        return values.get(name, _default(name))

    return SlurmResources(gpus_per_job=value("slurm_gpus_per_job"), cpus_per_gpu=value("slurm_cpus_per_gpu"),
                          partition=value("slurm_partition"), timeout=str(value("slurm_timeout")))


def settled_values(values: Mapping[str, Any], backend: str | None = None) -> dict[str, Any]:
    """Every option of the table with the value it takes: given, or the backend's default.

    `values` may come from click (None where not given), from argparse (defaults
    filled in, other backends' flags absent) or from a record (keys of older
    versions missing). Other backends' options take their defaults: they cannot
    be given for this backend.
    """
    backend = backend or values.get("backend") or _default("backend")
    if backend not in BACKENDS:
        raise OptionError(f"--backend {backend!r} is not a backend; choose one of {', '.join(BACKENDS)}")
    settled = {}
    for option in OPTIONS:
        given = values.get(option.name) if option.backend in (COMMON, backend) else None
        settled[option.name] = option.default_for(backend) if given is None else option.convert(given)
    settled["backend"] = backend
    settled["workdir"] = _workdir(settled, backend)
    if backend == SLURM:
        settled["slurm_workdir"] = settled["workdir"]
    return settled


def _workdir(settled: Mapping[str, Any], backend: str) -> str:
    workdir, slurm_workdir = settled["workdir"], settled["slurm_workdir"]
    if backend != SLURM:
        return workdir or settled["train_dir"]
    if workdir and slurm_workdir and os.path.abspath(workdir) != os.path.abspath(slurm_workdir):
        raise OptionError(
            f"--workdir {workdir} and --slurm_workdir {slurm_workdir} name two different workdirs; pass only one"
        )
    if not (slurm_workdir or workdir):
        raise OptionError("the Slurm backend needs a workdir; pass --slurm_workdir DIR (or --workdir DIR)")
    return slurm_workdir or workdir


def launch_options(
    values: Mapping[str, Any], backend: str | None = None, run_name: str | None = None
) -> LaunchOptions:
    """The backend's launch options from either parser's values; every option check happens here.

    `run_name` stands in for --run when a caller hands over a run description it loaded itself.
    """
    settled = settled_values(values, backend)
    settled["run"] = settled["run"] or run_name
    common: dict[str, Any] = {
        "workdir": Path(settled["workdir"]),
        "run_module": settled["run"] or "",
        "train_dir": settled["train_dir"],
        "experiment_suffix": settled["experiment_suffix"],
        "pause_between": settled["pause_between"],
        "recorded_options": settled,
    }
    if settled["backend"] == SLURM:
        return SlurmLaunchOptions(
            **common, resources=_slurm_resources(settled), template_path=settled["slurm_sbatch_template"],
            print_only=settled["slurm_print_only"], array=settled["slurm_array"],
            array_limit=settled["slurm_array_limit"],
        )
    if settled["backend"] == NGC:
        return NgcLaunchOptions(**common, job_template=settled["ngc_job_template"],
                                print_only=settled["ngc_print_only"])
    return ProcessesLaunchOptions(**common, max_parallel=settled["max_parallel"], num_gpus=settled["num_gpus"],
                                  experiments_per_gpu=settled["experiments_per_gpu"])


def launch_options_from_record(recorded: Mapping[str, Any], backend: str | None = None) -> LaunchOptions:
    """A recorded launch's options (launches.options), with the table's defaults for keys it lacks.

    Records written before this table kept argparse's namespace: a Slurm launch
    given both --workdir and --slurm_workdir used the latter, so that one is kept.
    """
    values = dict(recorded)
    backend = backend or values.get("backend") or _default("backend")
    if backend == SLURM and values.get("slurm_workdir"):
        values["workdir"] = None
    return launch_options(values, backend)


# --- the original launcher's argparse flags ---------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser, owner: str) -> argparse.ArgumentParser:
    """Add the flags `owner` (COMMON or a backend) owns; a backend also sets its own common defaults."""
    for option in OPTIONS:
        if option.backend != owner:
            continue
        extra: dict[str, Any] = {"nargs": "?", "const": True} if option.bare_is_true else {}
        if option.type is bool:
            extra["metavar"] = "true|false"
        if option.choices:
            extra["choices"] = option.choices
        parser.add_argument(
            *option.flags, dest=option.name, default=option.default,
            type=str2bool if option.type is bool else option.type,
            help=option.help_with_default().replace("%", "%%"), **extra,
        )
    if owner != COMMON:
        parser.set_defaults(**{
            option.name: option.default_for(owner)
            for option in OPTIONS
            if option.backend == COMMON and option.default_for(owner) != option.default
        })
    return parser
