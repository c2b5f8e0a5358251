"""`pbt-track submit`: the launcher's options, generated from the table of launch options."""

from __future__ import annotations

from typing import Any

import click

from pbt_tracker.cli import paths
from pbt_tracker.cli.group import cli
from pbt_tracker.launch.option_table import COMMON, Option


def _click_type(option: Option) -> Any:
    if option.path:  # a plain string still, which the shell completes as a file or a folder
        return paths.PathText(folder=option.path == "dir")
    if option.choices:
        return click.Choice(option.choices)
    if option.type is bool:
        return click.Choice(["true", "false"], case_sensitive=False)
    return option.type


def _click_option(option: Option) -> click.Option:
    """An option of the table in the seed's spelling and dashed; None where not given."""
    bare: dict[str, Any] = {"is_flag": False, "flag_value": "true"} if option.bare_is_true else {}
    return click.Option([*option.flags, option.name], type=_click_type(option), default=None,
                        help=option.help_with_default(), **bare)


class _TableCommand(click.Command):
    """A command whose first options are the launch option table's, as the registry has it when they are read.

    A backend registered after this module was imported (a plugin, a test)
    still brings its options and its --backend choice. The list is one
    object, changed in place, because click adds and takes options on it.
    """

    _table: tuple[Option, ...] | None = None
    _from_table: list[click.Parameter] = []
    _params: list[click.Parameter] = []

    @property
    def params(self) -> list[click.Parameter]:
        from pbt_tracker.backends.options import table

        current = table()
        if current != self._table:
            fresh: list[click.Parameter] = [_click_option(option) for option in current]
            self._params[:len(self._from_table)] = fresh
            self._table, self._from_table = current, fresh
        return self._params

    @params.setter
    def params(self, own: list[click.Parameter]) -> None:
        self._params = [*self._from_table, *own]


@cli.command(cls=_TableCommand)
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
    from pbt_tracker.backends import DEFAULT
    from pbt_tracker.backends.options import table
    from pbt_tracker.errors import PbtTrackError
    from pbt_tracker.launcher.run import launch

    if preview is not None:
        _submit_preview(preview, values)
        return
    backend = values["backend"] or DEFAULT
    _fit_project_defaults(values, backend)
    for option in table():
        if values[option.name] is not None and option.backend not in (COMMON, backend):
            raise click.UsageError(f"--{option.name} needs --backend {option.backend}")
    try:
        code = launch(values, compact=True, verbose=verbose)
    except PbtTrackError as error:
        raise click.ClickException(str(error)) from None
    if code:
        raise SystemExit(code)


def _fit_project_defaults(values: dict[str, Any], backend: str) -> None:
    """Drop what the project file sets for another backend, or a workdir a flag names under its other spelling.

    The file holds defaults for every backend and command at once, so its
    Slurm options must not make a local launch fail, nor its `workdir` clash
    with a `--slurm_workdir` given here.
    """
    from click.core import ParameterSource

    from pbt_tracker.backends.options import table

    ctx = click.get_current_context()

    def from_file(name: str) -> bool:
        return ctx.get_parameter_source(name) is ParameterSource.DEFAULT_MAP

    for option in table():
        if from_file(option.name) and option.backend not in (COMMON, backend):
            values[option.name] = None
    for name, twin in (("workdir", "slurm_workdir"), ("slurm_workdir", "workdir")):
        if from_file(name) and values.get(twin) is not None and not from_file(twin):
            values[name] = None


def _submit_preview(launch_id: int, values: dict[str, Any]) -> None:
    from pbt_tracker.backends.slurm.preview import submit_preview
    from pbt_tracker.backends.slurm.run import summary_lines
    from pbt_tracker.cli.common import open_workdir
    from pbt_tracker.errors import PbtTrackError

    from click.core import ParameterSource

    ctx = click.get_current_context()
    others = [name for name, value in values.items() if value is not None and name not in _WORKDIRS
              and ctx.get_parameter_source(name) is not ParameterSource.DEFAULT_MAP]  # the project file's stay unused
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
