"""Launch options: either command line's values, or a record's, settled against the table into one dataclass.

`pbt-track submit`'s click options and `python -m pbt_tracker.launcher.run`'s
argparse flags are both made from one table, both parsers' values are settled
here, and the record keeps the settled values, from which a resubmission
builds the same dataclass again. A default or a check written anywhere else
would let the two command lines, the record and resubmission drift apart.

The table is handed in (`pbt_tracker.backends.options` gathers it from the
registry); each backend's dataclass derives from `LaunchOptions` in its own
folder, so that nothing here names a backend.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pbt_tracker.errors import OptionError
from pbt_tracker.files import check_path_inert
from pbt_tracker.store.file_checks import check_workdir_length
from pbt_tracker.launch.option_table import COMMON, COMMON_OPTIONS, Option, str2bool

__all__ = ["LaunchOptions", "add_arguments", "common_fields", "settled_values"]

_COMMON = {option.name: option for option in COMMON_OPTIONS}


@dataclass(frozen=True)
class LaunchOptions:
    """What every launch needs besides the run description, whatever the backend."""

    workdir: Path
    run_module: str
    train_dir: str = _COMMON["train_dir"].default
    experiment_suffix: str = _COMMON["experiment_suffix"].default
    pause_between: float = _COMMON["pause_between"].default
    python: str | None = None  # the training environment's interpreter; None: pbt-track's own
    recorded_options: dict[str, Any] = field(default_factory=dict)  # every option of the table, settled

    def __post_init__(self) -> None:
        check_path_inert(self.workdir, "--workdir")
        check_path_inert(self.train_dir, "--train_dir")
        check_workdir_length(self.workdir)
        if math.isnan(self.pause_between) or math.isinf(self.pause_between):
            raise OptionError(f"--pause_between must be a finite number of seconds, not {self.pause_between:g}")
        if self.pause_between < 0:
            raise OptionError(f"--pause_between must be 0 or more seconds, not {self.pause_between:g}")


def settled_values(table: Sequence[Option], values: Mapping[str, Any], backend: str) -> dict[str, Any]:
    """Every option of the table with the value it takes: given, or the backend's default.

    `values` may come from click (None where not given), from argparse (defaults
    filled in, other backends' flags absent) or from a record (keys of older
    versions missing). Other backends' options take their defaults: they cannot
    be given for this backend. The workdir is left as given, for the backend
    to settle (`common_fields`, or its own rule first).
    """
    settled = {}
    for option in table:
        given = values.get(option.name) if option.backend in (COMMON, backend) else None
        settled[option.name] = option.default_for(backend) if given is None else option.convert(given)
    settled["backend"] = backend
    return settled


def common_fields(settled: dict[str, Any]) -> dict[str, Any]:
    """The fields of `LaunchOptions` from settled values; a workdir its backend left unset is the train dir."""
    settled["workdir"] = settled["workdir"] or settled["train_dir"]
    return {
        "workdir": Path(settled["workdir"]),
        "run_module": settled["run"] or "",
        "train_dir": settled["train_dir"],
        "experiment_suffix": settled["experiment_suffix"],
        "pause_between": settled["pause_between"],
        "python": settled["python"],
        "recorded_options": settled,
    }


# --- the original launcher's argparse flags ---------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser, table: Sequence[Option], owner: str) -> argparse.ArgumentParser:
    """Add the flags `owner` (COMMON or a backend) owns; a backend also sets its own common defaults."""
    for option in table:
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
            for option in table
            if option.backend == COMMON and option.default_for(owner) != option.default
        })
    return parser
