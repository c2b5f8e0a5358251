"""A run description's experiments as every backend launches them: checked before anything is written.

Experiment names become file names in the workdir and experiment dirs are
made under the train dir, whatever the backend; the checks that keep them
there are one set, so that a description refused on Slurm is refused locally too.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from pbt_tracker.errors import OptionError, RunDescriptionError
from pbt_tracker.files import NAME_MAX, check_path_inert
from pbt_tracker.processes import command_words
from pbt_tracker.run_description import ExperimentSpec, RunDescription

_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._+=,:@-]*")

MAX_NAME_BYTES = NAME_MAX - len(".9999.e9999999999.log")
"""The longest experiment name whose files (a local attempt's log is the longest) fit in one file name."""


def checked_specs(run_description: RunDescription, train_dir: str) -> list[ExperimentSpec]:
    """The run's experiments, refused when there are none, when their names cannot be files,
    or when their directories would fall outside the train dir."""
    check_path_inert(train_dir, "--train_dir")
    check_path_inert(run_description.run_name, "run name")
    check_path_inert(run_description.experiment_suffix, "--experiment_suffix")
    check_experiment_dirs_inside_train_dir(run_description.run_name, run_description.experiment_suffix)
    specs = run_description.experiment_specs(train_dir, makedirs=False)
    if not specs:
        raise RunDescriptionError(
            f"run {run_description.run_name} describes no experiments; add an Experiment to RUN_DESCRIPTION"
        )
    seen: set[str] = set()
    for spec in specs:
        check_experiment_name(spec.name)
        if spec.name in seen:
            raise RunDescriptionError(
                f"run {run_description.run_name} has two experiments named {spec.name}; "
                "give its Experiments different names"
            )
        seen.add(spec.name)
        check_train_dir_fits(spec)
        command_words(spec.cmd)
    return specs


def check_train_dir_fits(spec: ExperimentSpec) -> None:
    """Each part of the experiment's directory, and its files' names, must fit in one file name."""
    for part in PurePosixPath(spec.train_dir).parts:
        if len(part.encode()) > NAME_MAX:
            raise RunDescriptionError(
                f"the directory name {part[:40]}... in experiment {spec.name[:40]}'s directory is {len(part.encode())} "
                f"bytes long, more than a file name holds ({NAME_MAX}); shorten the Experiment's name or the run name")


def check_experiment_name(name: str) -> str:
    """Names become file names in the workdir, so they may not escape it or need quoting."""
    if not _NAME_RE.fullmatch(name):
        raise RunDescriptionError(
            f"experiment name {name!r} cannot be used as a file name; use letters, digits and "
            "._+=,:@- only (rename the Experiment or change its parameter values)"
        )
    if len(name.encode()) > MAX_NAME_BYTES:
        raise RunDescriptionError(
            f"experiment name {name[:40]}... is {len(name.encode())} bytes long, too long for the file names made "
            f"from it; keep experiment names to {MAX_NAME_BYTES} bytes (shorten the Experiment's name or parameter "
            "values, or set customize_experiment_name=False in the RunDescription)")
    return name


def check_experiment_dirs_inside_train_dir(run_name: str, experiment_suffix: str) -> None:
    """Experiment dirs are `<train_dir>/<run name>/<experiment>_<suffix>`; neither part may climb out."""
    run = PurePosixPath(run_name)
    if run.is_absolute() or ".." in run.parts:
        raise RunDescriptionError(
            f"run name {run_name!r} would put experiment directories outside --train_dir; "
            "use a relative name without '..'"
        )
    if ".." in PurePosixPath(f"x_{experiment_suffix}").parts:
        raise OptionError(
            f"--experiment_suffix {experiment_suffix!r} would put experiment directories outside their run's "
            "directory in --train_dir; use a suffix without '..'"
        )
