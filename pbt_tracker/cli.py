"""`pbt-track`: the command line. It parses, calls the library, prints; nothing more.

Heavy modules (SQLAlchemy, alembic) are imported inside the commands so that
`pbt-track --help` stays instant.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from pbt_tracker import __version__

# Every launcher flag, in the original's spelling; each also answers to its dashed twin.
_LAUNCHER_OPTIONS: list[tuple[str, Any, str]] = [
    ("--run", str, "Module (a.b.c, importable from here) or .py file defining RUN_DESCRIPTION."),
    ("--backend", click.Choice(["processes", "slurm"]), "Where the experiments run.  [default: processes]"),
    ("--workdir", str, "Workdir for scripts, logs and the database (same as --slurm_workdir)."),
    ("--train_dir", str, "Root directory of the experiments' outputs.  [default: ./train_dir]"),
    ("--pause_between", float, "Seconds to wait between two submissions.  [default: 1]"),
    ("--experiment_suffix", str, "Appended to the name of each experiment dir."),
    ("--slurm_workdir", str, "Workdir for sbatch scripts, logs, scancel.sh and the database."),
    ("--slurm_gpus_per_job", int, "GPUs per job (--gres=gpu:N).  [default: 1]"),
    ("--slurm_cpus_per_gpu", int, "CPU cores per GPU (-c).  [default: 16]"),
    ("--slurm_partition", str, "Slurm partition (-p)."),
    ("--slurm_sbatch_template", str, "sbatch template file ($CMD $FILENAME $PARTITION $GPU $CPU $TIMEOUT)."),
    ("--slurm_timeout", str, "Job time limit, given to the template as $TIMEOUT.  [default: 0, none]"),
    (
        "--slurm_print_only",
        click.Choice(["true", "false"], case_sensitive=False),
        "true: write and record the scripts, print the sbatch commands, submit nothing.",
    ),
    ("--num_gpus", int, "Processes backend: local GPUs to use.  [default: 1]"),
    ("--max_parallel", int, "Processes backend: experiments at once.  [default: 4]"),
    ("--experiments_per_gpu", int, "Processes backend: experiments per GPU.  [default: -1]"),
]


def _launcher_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for flag, type_, help_text in reversed(_LAUNCHER_OPTIONS):
        names = [flag]
        if "_" in flag:
            names.append(flag.replace("_", "-"))
        command = click.option(*names, flag[2:], type=type_, default=None, help=help_text)(command)
    return command


def _launcher_argv(values: dict[str, Any]) -> list[str]:
    """The options that were given, as the launcher's own parser expects them."""
    argv: list[str] = []
    for flag, _type, _help in _LAUNCHER_OPTIONS:
        value = values.get(flag[2:])
        if value is not None:
            argv += [flag, str(value)]
    return argv


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pbt-track")
def cli() -> None:
    """Launch Population Based Training runs and keep track of every job.

    Each workdir holds a SQLite database (pbt_tracker.db) with every launch,
    generated script, submission and job id.
    """


@cli.command()
@_launcher_options
def submit(**values: Any) -> None:
    """Submit a run: one recorded job per experiment of its RUN_DESCRIPTION.

    Takes the launcher's options in their original spelling (--slurm_workdir)
    or dashed (--slurm-workdir).

    \b
    Example:
        pbt-track submit --run my_experiments.ant_pbt --backend slurm \\
            --slurm_workdir ./slurm_logs --slurm_partition gpu --slurm_timeout 24:00:00
    """
    from pbt_tracker.errors import PbtTrackError
    from pbt_tracker.launcher.run import launch, parse_args

    args = parse_args(_launcher_argv(values))
    try:
        code = launch(args)
    except PbtTrackError as error:
        raise click.ClickException(str(error)) from None
    if code:
        raise SystemExit(code)


def main() -> None:
    cli(prog_name="pbt-track")
