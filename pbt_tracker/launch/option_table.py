"""The type of a launch option, and the options every backend shares: spellings, type, default, help, owner.

Each backend adds rows of its own (`Backend.option_rows`), and
`pbt_tracker.backends.options` gathers the whole table from the registry.
Both command lines are made from that table (`pbt-track submit`'s click
options, the launcher's argparse flags), and `launch.options` settles parsed
or recorded values against it. This module names no backend and imports
nothing heavy, because every `pbt-track --help` builds submit's options from it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from pbt_tracker.errors import OptionError

COMMON = "common"


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
    path: str = ""  # "file" or "dir" where the value is a path: the shell completes it, a project file anchors it

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


# `backend`'s default and choices, and the common options' defaults that differ by backend, come from the registry.
COMMON_OPTIONS: tuple[Option, ...] = (
    Option("run", str, None, "Module (a.b.c, importable from here) or .py file defining RUN_DESCRIPTION.",
           path="file"),
    Option("backend", str, None, "Where the experiments run."),
    Option("workdir", str, None, "Workdir for scripts, logs and the database (same as --slurm_workdir).",
           default_text="--train_dir", path="dir"),
    Option("train_dir", str, "./train_dir", "Root directory of the experiments' outputs.", path="dir"),
    Option("pause_between", float, 1.0, "Seconds to wait between two submissions."),
    Option("experiment_suffix", str, "", "Appended to the name of each experiment dir."),
    Option("python", str, None, "Interpreter of the training environment (e.g. a conda env's bin/python): the run "
           "description is read with it, and local experiments' `python` is it.",
           default_text="$PBT_TRACK_PYTHON, else pbt-track's own", path="file"),
    Option("group_readable", bool, False, "Let your group read the record, scripts and logs (0640, folders 0750) "
           "instead of you only (0600, 0700) (alone: true).", bare_is_true=True),
)


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
