"""sbatch templates that ship with pbt-track, usable with --slurm_sbatch_template.

They are files inside the package so that a user can pass their path as it
is, or copy one and change it; `python -m pbt_tracker.templates` lists them.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from pbt_tracker.errors import OptionError

TEMPLATES = {
    "sbatch_time": "#SBATCH --time=$TIMEOUT: Slurm ends the job at --slurm_timeout (a Slurm time)",
    "timeout_limited": "timeout $TIMEOUT $CMD: the job exits with the experiment's code, 124 at the limit",
    "timeout_continue": "timeout_limited, and at the limit (or when requeued) the job submits its recorded continuation",
    "submit_env": "#SBATCH --export=ALL: the job runs in the environment (an activated virtualenv) it was submitted from",
}


def template_path(name: str) -> Path:
    if name not in TEMPLATES:
        raise OptionError(f"no template named {name!r}; choose one of {', '.join(TEMPLATES)}")
    return Path(str(files(__name__).joinpath(f"{name}.sh")))


def template_text(name: str) -> str:
    return template_path(name).read_text(encoding="utf-8")
