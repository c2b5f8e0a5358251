"""`pbt-track submit`: the launcher's options, generated from the table of launch options."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from pbt_tracker.cli.group import cli
from pbt_tracker.launch.option_table import COMMON, OPTION, OPTIONS, Option


def _click_type(option: Option) -> Any:
    if option.choices:
        return click.Choice(option.choices)
    if option.type is bool:
        return click.Choice(["true", "false"], case_sensitive=False)
    return option.type


def _launcher_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Every option of the launch options' table, in the seed's spelling and dashed; None where not given."""
    for option in reversed(OPTIONS):
        bare = {"is_flag": False, "flag_value": "true"} if option.bare_is_true else {}
        command = click.option(*option.flags, option.name, type=_click_type(option), default=None,
                               help=option.help_with_default(), **bare)(command)
    return command


@cli.command()
@_launcher_options
@click.option("--launch", "preview", type=int, metavar="N",
              help="Submit preview N (a --slurm_print_only launch) exactly as it was recorded.")
@click.option("-v", "--verbose", is_flag=True, help="Slurm: a line per sbatch call, as the original launcher prints.")
def submit(preview: int | None, verbose: bool, **values: Any) -> None:
    """Submit a run: one recorded job per experiment of its RUN_DESCRIPTION.

    Takes the launcher's options in their original spelling (--slurm_workdir)
    or dashed (--slurm-workdir).

    `--launch N` submits the scripts a preview recorded, as they were shown.

    \b
    Example:
        pbt-track submit --run my_experiments.ant_pbt --backend slurm \\
            --slurm_workdir ./slurm_logs --slurm_partition gpu --slurm_timeout 24:00:00
    """
    from pbt_tracker.errors import PbtTrackError
    from pbt_tracker.launcher.run import launch

    if preview is not None:
        _submit_preview(preview, values)
        return
    backend = values["backend"] or OPTION["backend"].default
    for option in OPTIONS:
        if values[option.name] is not None and option.backend not in (COMMON, backend):
            raise click.UsageError(f"--{option.name} needs --backend {option.backend}")
    try:
        code = launch(values, compact=True, verbose=verbose)
    except PbtTrackError as error:
        raise click.ClickException(str(error)) from None
    if code:
        raise SystemExit(code)


def _submit_preview(launch_id: int, values: dict[str, Any]) -> None:
    from pbt_tracker.backends.slurm.preview import submit_preview
    from pbt_tracker.cli.common import open_workdir
    from pbt_tracker.errors import PbtTrackError
    from pbt_tracker.launcher.run_slurm import summary_lines

    others = [name for name, value in values.items() if value is not None and name not in _WORKDIRS]
    if others:
        raise click.UsageError(f"--launch takes no option but --workdir; --{others[0]} was recorded with the preview")
    workdir = values["workdir"] or values["slurm_workdir"] or "."
    with open_workdir(workdir) as store:
        try:
            result = submit_preview(store, launch_id, echo=click.echo)
        except PbtTrackError as error:
            raise click.ClickException(str(error)) from None
    for line in summary_lines(result):
        click.echo(line)
    if result.failed:
        raise SystemExit(1)


_WORKDIRS = ("workdir", "slurm_workdir")
