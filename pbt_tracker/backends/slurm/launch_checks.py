"""Launches that Slurm would accept and then fail, refused before anything is written.

Each check is pure: it reads the options and the run's names, never the disk
or the cluster, and raises one line that says what is wrong and what to do.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable

from pbt_tracker.backends.slurm.array import interpreter
from pbt_tracker.backends.slurm.script import sbatch_directives
from pbt_tracker.commands import CommandNotStarted, run_command
from pbt_tracker.errors import OptionError, RunDescriptionError, TemplateError

NAME_MAX = 255  # bytes in one file name on Linux filesystems
JOB_ID_ROOM = 20  # the longest job id Slurm writes into a log name: array job id, '_', task id
_LOG_NAME_OVERHEAD = len("sbatch_") + len(".sh-slurm-") + JOB_ID_ROOM + len(".out")
MAX_EXPERIMENT_NAME_BYTES = NAME_MAX - _LOG_NAME_OVERHEAD


def check_template_has_no_array(template_text: str, source: str) -> None:
    """An array in the template makes each experiment's job many tasks that the record cannot follow."""
    for directive in sbatch_directives(template_text):
        if any(_is_array_option(word) for word in _words(directive.removeprefix("#SBATCH"))):
            raise TemplateError(
                f"template {source} asks for a job array ({directive}); remove that line: pbt-track submits "
                "one job per experiment (--slurm_array sends them as one array)"
            )


def _words(text: str) -> list[str]:
    try:
        return shlex.split(text, comments=True)
    except ValueError:  # an unbalanced quote: sbatch's own reading is no better
        return text.split()


def _is_array_option(word: str) -> bool:
    """`--array`, its unambiguous abbreviations `--ar`..., and the short form `-a`, with or without a value."""
    if word.startswith("--"):
        name = word[2:].split("=", 1)[0]
        return len(name) >= 2 and "array".startswith(name)
    return word.startswith("-a")


def check_workdir_has_no_percent(workdir: str | os.PathLike[str]) -> None:
    """Slurm expands `%` in --output, so every job's log (and so the job) would fail to open."""
    if "%" in os.fspath(workdir):
        raise OptionError(
            f"the workdir {os.fspath(workdir)} contains '%', which Slurm would read as a pattern in the jobs' log "
            "names; use a workdir path without '%'"
        )


def check_log_names_fit(experiment_names: Iterable[str]) -> None:
    """Slurm's log `sbatch_<name>.sh-slurm-<job id>.out` must fit in one file name, or the job fails at start."""
    for name in experiment_names:
        size = len(name.encode())
        if size > MAX_EXPERIMENT_NAME_BYTES:
            raise RunDescriptionError(
                f"experiment name {name[:40]}... is {size} bytes long, too long for its Slurm log file name; "
                f"keep experiment names to {MAX_EXPERIMENT_NAME_BYTES} bytes (shorten the parameter values, "
                "or set customize_experiment_name=False in the RunDescription)"
            )




def check_script_syntax(script_text: str, source: str) -> None:
    """A job script bash cannot parse would fail on the node after its claim; refused before anything is written.

    Only scripts for bash or sh are read (`bash -n` parses and runs nothing);
    the syntax of other shells is theirs.
    """
    if os.path.basename(interpreter(script_text)[0]) not in ("bash", "sh"):
        return
    try:
        result = run_command(["bash", "-n", "-c", script_text], timeout=60)
    except CommandNotStarted:
        return  # no bash here: the node's will say
    if result.returncode != 0:
        said = (result.stderr.strip().splitlines() or ["no reason given"])[0].removeprefix("bash: -c: ")
        raise TemplateError(f"template {source} gives a job script bash cannot read ({said}); fix the template")
