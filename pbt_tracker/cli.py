"""`pbt-track`: the command line. It parses, calls the library, prints; nothing more.

Heavy modules (SQLAlchemy, alembic) are imported inside the commands so that
`pbt-track --help` stays instant.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from pbt_tracker import __version__
from pbt_tracker.launch_option_table import COMMON, OPTION, OPTIONS, Option

if TYPE_CHECKING:
    from pbt_tracker.store import Store
    from pbt_tracker.tracker.selection import Selection


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


class _OneLineErrors(click.Group):
    """Usage errors as one line (what is wrong, where to look), like every other error of pbt-track."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            return super().main(*args, **kwargs)
        except click.UsageError as error:
            where = f"`{error.ctx.command_path} --help`" if error.ctx else "`pbt-track --help`"
            click.echo(f"Error: {error.format_message()} (see {where})", err=True)
            sys.exit(error.exit_code)
        except click.ClickException as error:
            error.show()
            sys.exit(error.exit_code)
        except click.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)


@click.group(cls=_OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pbt-track")
def cli() -> None:
    """Launch Population Based Training runs and keep track of every job.

    Each workdir holds a SQLite database (pbt_tracker.db) with every launch,
    generated script, submission and job id.
    """
    from pbt_tracker.errors import PbtTrackError
    from pbt_tracker.settings import check_all

    try:
        check_all()
    except PbtTrackError as error:
        raise click.ClickException(str(error)) from None


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
    from pbt_tracker.launcher.run import launch

    backend = values["backend"] or OPTION["backend"].default
    for option in OPTIONS:
        if values[option.name] is not None and option.backend not in (COMMON, backend):
            raise click.UsageError(f"--{option.name} needs --backend {option.backend}")
    try:
        code = launch(values)
    except PbtTrackError as error:
        raise click.ClickException(str(error)) from None
    if code:
        raise SystemExit(code)


def _workdir_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--workdir",
        envvar="PBT_TRACK_WORKDIR",
        default=".",
        show_default=True,
        help="Workdir of the launches (env PBT_TRACK_WORKDIR).",
    )(command)


def _no_sync_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--no-sync", is_flag=True, help="Use the states on record; do not ask the scheduler.")(
        command
    )


def _selection_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option("--state", "states", multiple=True, metavar="STATE", help="Only jobs in this state (repeatable).")(command)
    command = click.option(
        "--experiment", "experiments", multiple=True, metavar="NAME",
        help="An experiment, or an Experiment's base name for all of its experiments (repeatable).",
    )(command)
    command = click.option("--run", metavar="NAME", help="Only experiments of this run.")(command)
    return command


def _selection(run: str | None, experiments: tuple[str, ...], states: tuple[str, ...], **extra: Any) -> Selection:
    from pbt_tracker.tracker.selection import Selection

    return Selection(run=run, experiments=experiments, states=tuple(s.upper() for s in states), **extra)


@contextmanager
def _open_workdir(workdir: str, sync: bool = True) -> Iterator[Store]:
    """Open a workdir's existing record, bring it up to date, and turn pbt-track's errors into click's."""
    from pbt_tracker.errors import PbtTrackError
    from pbt_tracker.store import open_store

    try:
        store = open_store(workdir, create=False)
        try:
            if sync:
                _sync(store)
            yield store
        finally:
            store.close()
    except PbtTrackError as error:
        raise click.ClickException(str(error)) from None


def _sync(store: Store):  # type: ignore[no-untyped-def]
    from pbt_tracker.tracker.sync import sync_workdir

    result = sync_workdir(store)
    for note in result.notes:
        click.echo(f"Note: {note}", err=True)
    return result


@cli.command()
@_workdir_option
def sync(workdir: str) -> None:
    """Ask the scheduler about every job that has not ended, and record what changed.

    \b
    Example:
        pbt-track sync --workdir ./slurm_logs
    """
    with _open_workdir(workdir, sync=False) as store:
        result = _sync(store)
    click.echo(
        f"Asked about {result.asked} job(s) in {result.scheduler_calls} scheduler call(s); {result.changed} changed."
    )


@cli.command()
@_workdir_option
@_selection_options
@click.option("--all-attempts", is_flag=True, help="Every attempt, not only each experiment's latest.")
@click.option("--format", "output_format", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--pbt", is_flag=True, help="Add each PBT policy's latest iteration and objectives, read from its workspace.")
@_no_sync_option
def report(workdir: str, run: str | None, experiments: tuple[str, ...], states: tuple[str, ...],
           all_attempts: bool, output_format: str, pbt: bool, no_sync: bool) -> None:
    """Show where every experiment stands: one row per experiment, its latest attempt.

    \b
    Example:
        pbt-track report --workdir ./slurm_logs
        pbt-track report --state FAILED --format json
        pbt-track report --pbt
    """
    from pbt_tracker.report import needs_sync, render, report_rows

    with _open_workdir(workdir, sync=False) as store:
        if not no_sync and needs_sync(store):
            _sync(store)
        rows = report_rows(store, _selection(run, experiments, states, all_attempts=all_attempts), pbt=pbt)
    click.echo(render(rows, output_format, all_attempts, pbt), nl=False)


@cli.command()
@_workdir_option
@_selection_options
@click.option("--job", "job_ids", multiple=True, metavar="ID", help="A job id (repeatable).")
@click.option("--all", "everything", is_flag=True, help="Every job of the workdir that may still run.")
@click.option("--dry-run", is_flag=True, help="Show what would be cancelled; cancel nothing.")
@_no_sync_option
def cancel(workdir: str, run: str | None, experiments: tuple[str, ...], states: tuple[str, ...],
           job_ids: tuple[str, ...], everything: bool, dry_run: bool, no_sync: bool) -> None:
    """Cancel jobs with one scancel; other experiments' jobs are left alone.

    \b
    Example:
        pbt-track cancel --experiment 02_ant_pbt_v1 --workdir ./slurm_logs
        pbt-track cancel --state PENDING --dry-run
    """
    from pbt_tracker.tracker.cancel import cancel_jobs

    with _open_workdir(workdir, sync=not no_sync) as store:
        result = cancel_jobs(store, _selection(run, experiments, states, job_ids=job_ids), everything, dry_run)
        if result.targets and not dry_run:
            _sync(store)
    if not result.targets:
        click.echo("Nothing to cancel: no job of this selection may still be running.")
        return
    verb = "Would cancel" if dry_run else "Cancelled"
    for experiment, job_id in result.targets:
        click.echo(f"{verb} {experiment} (job {job_id})" if job_id else f"{verb} {experiment} (not started)")
    if result.scancel_error:
        raise click.ClickException(f"scancel reported: {result.scancel_error}")


@cli.command("resubmit-failed")
@_workdir_option
@click.option("--run", metavar="NAME", help="Only experiments of this run.")
@click.option("--experiment", "experiments", multiple=True, metavar="NAME", help="Only this experiment or base name (repeatable).")
@click.option("--include-cancelled", is_flag=True, help="Also experiments whose latest attempt was cancelled.")
@click.option("--max-attempts", type=int, metavar="N", help="Leave experiments that already had N attempts.")
@click.option("--accept-changed", is_flag=True, help="Submit scripts changed on disk as they are now (and record them).")
@click.option("--dry-run", is_flag=True, help="Show what would be resubmitted; submit nothing.")
@_no_sync_option
def resubmit_failed(workdir: str, run: str | None, experiments: tuple[str, ...], include_cancelled: bool,
                    max_attempts: int | None, accept_changed: bool, dry_run: bool, no_sync: bool) -> None:
    """Submit each failed experiment's recorded script again, as its next attempt.

    Failed means the latest attempt ended FAILED, TIMEOUT, OUT_OF_MEMORY,
    NODE_FAIL, BOOT_FAIL, DEADLINE, PREEMPTED or SUBMIT_FAILED.

    \b
    Example:
        pbt-track resubmit-failed --workdir ./slurm_logs --max-attempts 3
    """
    from pbt_tracker.tracker.record import write_scancel_script
    from pbt_tracker.tracker.resubmit import resubmit_failed as resubmit

    with _open_workdir(workdir, sync=not no_sync) as store:
        result = resubmit(
            store, _selection(run, experiments, ()), include_cancelled=include_cancelled,
            max_attempts=max_attempts, accept_changed=accept_changed, dry_run=dry_run, echo=click.echo,
        )
        if not dry_run:
            write_scancel_script(store)
    for name in result.skipped_max_attempts:
        click.echo(f"Left {name}: it already had {max_attempts} attempt(s).")
    if not result.planned:
        click.echo("Nothing to resubmit: no experiment's latest attempt failed.")
        return
    if dry_run:
        for name, attempt in result.planned:
            click.echo(f"Would resubmit {name} as attempt {attempt}")
        return
    for path in result.rewritten:
        click.echo(f"Rewrote {path} from the record.")
    if result.interrupted:
        raise click.ClickException("interrupted: the resubmitted experiments still running were stopped")
    if result.failed:
        raise click.ClickException(f"{len(result.failed)} of {result.attempted} resubmissions failed; see above")


def main() -> None:
    cli(prog_name="pbt-track")
