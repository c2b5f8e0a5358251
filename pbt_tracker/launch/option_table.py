"""The table of launch options: each option's spellings, type, default, help and owning backend.

Both command lines are made from it (`pbt-track submit`'s click options in
cli.py, the launcher's argparse flags in launch_options.py), and
launch_options.py settles parsed or recorded values against it. It imports
nothing heavy, because every `pbt-track` command, `--help` included, builds
submit's options from it at start-up.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from pbt_tracker.backends.ngc import NAME as NGC
from pbt_tracker.backends.processes import NAME as PROCESSES
from pbt_tracker.backends.slurm import NAME as SLURM
from pbt_tracker.errors import OptionError

COMMON = "common"
BACKENDS = (PROCESSES, SLURM, NGC)


class Option(NamedTuple):
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
            raise OptionError(f"--{self.name} must be {_KINDS[self.type]}, not {value!r}") from None


_KINDS = {int: "an integer", float: "a number", str: "a string"}


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


def str2bool(v: object) -> bool:
    """argparse's type for true|false flags (the original launcher's name for it)."""
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    import argparse  # only to fail: `pbt-track --help` need not import it

    raise argparse.ArgumentTypeError("Boolean value expected (true or false)")


def _to_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool) or (isinstance(value, str) and value.lower() in ("true", "false")):
        return str2bool(value)
    raise OptionError(f"--{name} {value!r} is not a boolean; pass true or false")
