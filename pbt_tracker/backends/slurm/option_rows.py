"""Slurm's rows of the launch option table.

Apart from the dataclass they settle into (`options`), because every
`pbt-track --help` reads them to build submit's options and needs nothing else.
"""

from __future__ import annotations

from pbt_tracker.backends.slurm import NAME as SLURM
from pbt_tracker.launch.option_table import Option

OPTIONS: tuple[Option, ...] = (
    Option("slurm_workdir", str, None, "Workdir for sbatch scripts, logs, scancel.sh and the database.", SLURM,
           path="dir"),
    Option("slurm_gpus_per_job", int, 1, "GPUs per job (--gres=gpu:N).", SLURM),
    Option("slurm_cpus_per_gpu", int, 16, "CPU cores per GPU (-c).", SLURM),
    Option("slurm_partition", str, None, "Slurm partition (-p).", SLURM),
    Option("slurm_sbatch_template", str, None,
           "sbatch template file ($CMD $FILENAME $PARTITION $GPU $CPU $TIMEOUT).", SLURM, path="file"),
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
)
OPTION = {option.name: option for option in OPTIONS}

RESOURCE_OPTIONS = ("slurm_partition", "slurm_cpus_per_gpu", "slurm_gpus_per_job", "slurm_timeout",
                    "slurm_sbatch_template")
"""The options a resubmission (resubmit-failed, the keeper's resumes) may change of its launch's."""
