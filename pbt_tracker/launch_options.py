"""Every launch option, stated once: spelling, type, default, help and the backend that owns it.

`pbt-track submit`'s click options and `python -m pbt_tracker.launcher.run`'s
argparse flags are both made from OPTIONS, both parsers' values go through
`launch_options` into the same dataclass, and the record keeps the settled
values, from which `launch_options_from_record` rebuilds that dataclass for a
resubmission. A default or a check written anywhere else would let the two
command lines, the record and resubmission drift apart again.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pbt_tracker.errors import OptionError
from pbt_tracker.sbatch_script import SlurmResources

COMMON, PROCESSES, SLURM, NGC = "common", "processes", "slurm", "ngc"
BACKENDS = (PROCESSES, SLURM, NGC)


@dataclass(frozen=True)
class Option:
    """One launch option; `name` is the seed's spelling without its dashes."""

    name: str
    type: type  # str, int, float, or bool (spelled true|false)
    default: Any
    help: str
    backend: str = COMMON  # the backend that owns it, or COMMON
    bare_is_true: bool = False  # `--flag` alone means `--flag true`
    choices: tuple[str, ...] = ()
    backend_defaults: tuple[tuple[str, Any], ...] = ()  # a backend whose default differs, and that default
    default_text: str | None = None  # what help shows as the default, where the value alone would mislead

    @property
    def flags(self) -> tuple[str, ...]:
        """The seed's spelling and, where it has underscores, its dashed twin."""
        seed = f"--{self.name}"
        dashed = seed.replace("_", "-")
        return (seed,) if dashed == seed else (seed, dashed)

    def default_for(self, backend: str) -> Any:
        return dict(self.backend_defaults).get(backend, self.default)

    def help_with_default(self) -> str:
        shown = self.default_text
        if shown is None and self.default not in (None, ""):
            shown = _text(self.default)
            for backend, value in self.backend_defaults:
                shown += f"; {_text(value)} with --backend {backend}"
        return f"{self.help}  [default: {shown}]" if shown else self.help

    def convert(self, value: Any) -> Any:
        """A value from either parser or from a record, as the option's own type."""
        if self.type is bool:
            return _to_bool(self.name, value)
        try:
            return self.type(value)
        except (TypeError, ValueError):
            raise OptionError(f"--{self.name} {value!r} is not a {self.type.__name__}; pass one") from None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


OPTIONS: tuple[Option, ...] = (
    Option("run", str, None, "Module (a.b.c, importable from here) or .py file defining RUN_DESCRIPTION."),
    Option("backend", str, PROCESSES, "Where the experiments run.", choices=BACKENDS),
    Option("workdir", str, None, "Workdir for scripts, logs and the database (same as --slurm_workdir).",
           default_text="--train_dir"),
    Option("train_dir", str, "./train_dir", "Root directory of the experiments' outputs."),
    Option("pause_between", float, 1.0, "Seconds to wait between two submissions.",
           backend_defaults=((NGC, 0.0),)),
    Option("experiment_suffix", str, "", "Appended to the name of each experiment dir."),
    Option("slurm_workdir", str, None, "Workdir for sbatch scripts, logs, scancel.sh and the database.", SLURM),
    Option("slurm_gpus_per_job", int, 1, "GPUs per job (--gres=gpu:N).", SLURM),
    Option("slurm_cpus_per_gpu", int, 16, "CPU cores per GPU (-c).", SLURM),
    Option("slurm_partition", str, None, "Slurm partition (-p).", SLURM),
    Option("slurm_sbatch_template", str, None,
           "sbatch template file ($CMD $FILENAME $PARTITION $GPU $CPU $TIMEOUT).", SLURM),
    Option("slurm_timeout", str, "0", "Job time limit, given to the template as $TIMEOUT.", SLURM,
           default_text="0, none"),
    Option("slurm_array", bool, False,
           "Send experiments with the same #SBATCH lines as one sbatch --array (alone: true).", SLURM,
           bare_is_true=True),
    Option("slurm_array_limit", int, None, "With --slurm_array: at most N tasks of each array at once (%N).",
           SLURM),
    Option("slurm_print_only", bool, False,
           "true: write and record the scripts, print the sbatch commands, submit nothing (alone: true).", SLURM,
           bare_is_true=True),
    Option("num_gpus", int, 1, "Processes backend: local GPUs to use.", PROCESSES),
    Option("max_parallel", int, 4, "Processes backend: experiments at once.", PROCESSES),
    Option("experiments_per_gpu", int, -1, "Processes backend: experiments per GPU (-1: leave "
           "CUDA_VISIBLE_DEVICES alone).", PROCESSES),
    Option("ngc_job_template", str, None, "NGC backend: file with the job's command line template.", NGC),
    Option("ngc_print_only", bool, False, "NGC backend: true: print the commands, run nothing (alone: true).", NGC,
           bare_is_true=True),
)
OPTION = {option.name: option for option in OPTIONS}


def _default(name: str) -> Any:
    return OPTION[name].default


def str2bool(v: object) -> bool:
    """argparse's type for true|false flags (the original launcher's name for it)."""
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    raise argparse.ArgumentTypeError("Boolean value expected (true or false)")


def _to_bool(name: str, value: Any) -> bool:
    try:
        return str2bool(value)
    except argparse.ArgumentTypeError:
        raise OptionError(f"--{name} {value!r} is not a boolean; pass true or false") from None


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


def launch_options(values: Mapping[str, Any], backend: str | None = None, run_name: str | None = None) -> LaunchOptions:
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
