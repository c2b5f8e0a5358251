"""The launcher's entry point, flag for flag the one PBT users already type.

Example:
    python -m pbt_tracker.launcher.run --run my_experiments.ant_pbt \\
        --backend slurm --slurm_workdir ./slurm_logs --slurm_partition gpu
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from typing import Any, NoReturn

from pbt_tracker import backends
from pbt_tracker.backends.options import add_arguments, launch_options
from pbt_tracker.errors import OptionError, PbtTrackError
from pbt_tracker.files import share_with_group
from pbt_tracker.launch.environment import chosen
from pbt_tracker.launch.option_table import COMMON
from pbt_tracker.launcher.loader import describe
from pbt_tracker.settings import check_all

__all__ = ["launch", "launcher_argparser", "main", "parse_args"]


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is an OptionError: one line, whoever called the parser."""

    def error(self, message: str) -> NoReturn:
        raise OptionError(f"{message}; see `{self.prog} --help`")


def launcher_argparser(args: list[str]) -> argparse.ArgumentParser:
    # Help is added after the backend's flags, so that `--backend slurm --help` lists them too.
    parser = _Parser(prog="python -m pbt_tracker.launcher.run", add_help=False)
    add_arguments(parser, COMMON)
    partial_cfg, _ = parser.parse_known_args(args)
    add_arguments(parser, partial_cfg.backend)
    parser.add_argument("-h", "--help", action="help", help="show this help message and exit")
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    argv = sys.argv[1:] if argv is None else argv
    return launcher_argparser(argv).parse_args(argv)


def launch(args: argparse.Namespace | Mapping[str, Any], compact: bool = False, verbose: bool = False) -> int:
    """Check the options, load the run module they name, and hand both to the chosen backend.

    `args` is argparse's namespace or click's values: either goes through the
    table of options once, before the run module is imported. `compact` is
    `pbt-track submit`'s shorter output; the launcher keeps the original's.
    Which Python read the description and which one the experiments' `python`
    is are recorded with the options and said first, because with a training
    environment of its own (`--python`) they need not be the one running this;
    so is the environment's choice of software, for the attempts sent later.
    """
    options = launch_options(vars(args) if isinstance(args, argparse.Namespace) else args)
    share_with_group(bool(options.recorded_options.get("group_readable")))
    backend = backends.get(options.recorded_options["backend"])
    run_description, described_with = describe(options.run_module or None, options.experiment_suffix,
                                               options.python, options.train_dir)
    experiments_python = backend.command_python(options) if hasattr(backend, "command_python") else None
    options.recorded_options.update(described_with=described_with.path, described_with_version=described_with.version,
                                    experiments_python=experiments_python, environment=chosen(os.environ))
    if compact or options.python:  # the launcher prints what the original printed, which had no such choice
        print(f"Run description read with {described_with}; the experiments' python is "
              f"{experiments_python or f'the one each {backend.title} job finds'}", flush=True)
    return backend.launch(run_description, options, compact, verbose)


def main(argv: list[str] | None = None) -> int:
    try:
        check_all()
        args = parse_args(argv)
    except OptionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        return launch(args)
    except PbtTrackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; the database in the workdir records what was submitted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
