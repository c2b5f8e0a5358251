"""The launcher's entry point, flag for flag the one PBT users already type.

Example:
    python -m pbt_tracker.launcher.run --run my_experiments.ant_pbt \\
        --backend slurm --slurm_workdir ./slurm_logs --slurm_partition gpu
"""

from __future__ import annotations

import argparse
import sys

from pbt_tracker.errors import OptionError, PbtTrackError
from pbt_tracker.launcher.run_processes import add_os_parallelism_args, run
from pbt_tracker.launcher.run_slurm import add_slurm_args, run_slurm
from pbt_tracker.run_module import load_run_description
from pbt_tracker.settings import check_all

BACKENDS = ("processes", "slurm")


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is an OptionError: one line, whoever called the parser."""

    def error(self, message: str):  # type: ignore[override]
        raise OptionError(f"{message}; see `{self.prog} --help`")


def launcher_argparser(args: list[str]) -> argparse.ArgumentParser:
    # Help is added after the backend's flags, so that `--backend slurm --help` lists them too.
    parser = _Parser(prog="python -m pbt_tracker.launcher.run", add_help=False)
    parser.add_argument("--train_dir", "--train-dir", default="./train_dir", type=str, help="Directory for sub-experiments")
    parser.add_argument(
        "--run",
        default=None,
        type=str,
        help="Python module (a.b.c, importable from here) or .py file that defines RUN_DESCRIPTION",
    )
    parser.add_argument(
        "--backend", default="processes", choices=BACKENDS, help="Launcher backend, use OS multiprocessing by default"
    )
    parser.add_argument(
        "--pause_between", "--pause-between", default=1, type=float, help="Pause in seconds between processes"
    )
    parser.add_argument(
        "--experiment_suffix",
        "--experiment-suffix",
        default="",
        type=str,
        help="Append this to the name of the experiment dir",
    )
    parser.add_argument(
        "--workdir", default=None, type=str, help="Where scripts, logs and the pbt-track database go"
    )
    partial_cfg, _ = parser.parse_known_args(args)
    if partial_cfg.backend == "slurm":
        add_slurm_args(parser)
    else:
        add_os_parallelism_args(parser)
    parser.add_argument("-h", "--help", action="help", help="show this help message and exit")
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    argv = sys.argv[1:] if argv is None else argv
    return launcher_argparser(argv).parse_args(argv)


def launch(args: argparse.Namespace) -> int:
    """Load the run module named by `args.run` and hand it to the chosen backend."""
    if args.pause_between < 0:
        raise OptionError(f"--pause_between must be 0 or more seconds, not {args.pause_between:g}")
    run_description = load_run_description(args.run, args.experiment_suffix)
    if args.backend == "slurm":
        return run_slurm(run_description, args)
    return run(run_description, args)


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
