"""What several commands share: the workdir, the selection, opening a record and bringing it up to date."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from pbt_tracker.cli import complete, paths

if TYPE_CHECKING:
    from pbt_tracker.backends.base import SyncResult
    from pbt_tracker.store import Store
    from pbt_tracker.store.selection import Selection


def workdir_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--workdir",
        envvar="PBT_TRACK_WORKDIR",
        type=paths.PathText(folder=True),
        default=".",
        show_default=True,
        help="Workdir of the launches (env PBT_TRACK_WORKDIR).",
    )(command)


def resource_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Slurm's partition, CPUs, GPUs, time limit and template, for attempts sent again (submit's own rows)."""
    from pbt_tracker.backends.slurm.option_rows import OPTION, RESOURCE_OPTIONS

    for name in reversed(RESOURCE_OPTIONS):
        row = OPTION[name]
        kind = paths.PathText() if row.path else row.type
        command = click.option(*row.flags, name, type=kind, default=None,
                               help=f"The new attempts' {row.help[0].lower()}{row.help[1:]}")(command)
    return command


def resource_changes(values: dict[str, Any]) -> dict[str, Any]:
    """The resource options given (taken out of `values`), a template by its absolute path: the record keeps it.

    The project file's values are submit's: an attempt sent again keeps its
    launch's resources unless a flag (or the environment) changes them, so
    that editing the file never changes a running population's resumes.
    """
    import os

    from click.core import ParameterSource

    from pbt_tracker.backends.slurm.option_rows import RESOURCE_OPTIONS

    ctx = click.get_current_context()
    changes = {name: values.pop(name) for name in RESOURCE_OPTIONS}
    for name in RESOURCE_OPTIONS:
        if ctx.get_parameter_source(name) is ParameterSource.DEFAULT_MAP:
            changes[name] = None
    if changes["slurm_sbatch_template"] is not None:
        changes["slurm_sbatch_template"] = os.path.abspath(changes["slurm_sbatch_template"])
    return {name: value for name, value in changes.items() if value is not None}


def no_sync_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--no-sync", is_flag=True, help="Use the states on record; do not ask the scheduler.")(
        command
    )


def launch_selection_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Which launches a command sees: by default each experiment's newest, none forgotten."""
    command = click.option("--all-launches", is_flag=True,
                           help="Every launch, superseded and forgotten ones too.")(command)
    return click.option("--launch", "launch", type=int, metavar="N",
                        help="Only launch N (`pbt-track launches` lists them).")(command)


def selection_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = launch_selection_options(command)
    command = click.option("-j", "--job", "job_ids", multiple=True, metavar="ID[,ID...]",
                           shell_complete=complete.job_ids, help="Only these job ids (repeatable).")(command)
    command = click.option("-t", "--state", "states", multiple=True, metavar="STATE[,STATE...]",
                           shell_complete=complete.states, help="Only jobs in these states, long or short (PD, R, F).")(command)
    command = click.option(
        "--experiment", "experiments", multiple=True, metavar="NAME", shell_complete=complete.experiments,
        help="An experiment, or an Experiment's base name for all of its experiments (repeatable).",
    )(command)
    command = click.option("--run", metavar="NAME", shell_complete=complete.runs, help="Only experiments of this run.")(command)
    return command


def selection(run: str | None, experiments: tuple[str, ...], states: tuple[str, ...], launch: int | None = None,
              all_launches: bool = False, job_ids: tuple[str, ...] = (), **extra: Any) -> Selection:
    """The filters as given, states and job ids also as squeue takes them: short codes, comma lists."""
    from pbt_tracker.errors import PbtTrackError
    from pbt_tracker.states import parse_states
    from pbt_tracker.store.selection import Selection

    try:
        parsed = parse_states(states)
    except PbtTrackError as error:
        raise click.BadParameter(str(error), param_hint="'-t' / '--state'") from None
    jobs = tuple(dict.fromkeys(part.strip() for text in job_ids for part in text.split(",") if part.strip()))
    return Selection(run=run, experiments=experiments, states=parsed, job_ids=jobs, launch=launch,
                     all_launches=all_launches, **extra)


@contextmanager
def open_workdir(workdir: str, sync: bool = True, unreachable_ok: bool = False) -> Iterator[Store]:
    """Open a workdir's existing record, bring it up to date, and turn pbt-track's errors into click's.

    With `unreachable_ok` (a report), a scheduler that does not answer leaves
    the record as it is, with a note saying how old its states are.
    """
    from pbt_tracker.errors import PbtTrackError
    from pbt_tracker.store import open_store

    try:
        store = open_store(workdir, create=False)
        try:
            if sync:
                sync_and_tell(store, unreachable_ok)
            yield store
        finally:
            store.close()
    except PbtTrackError as error:
        raise click.ClickException(str(error)) from None


@contextmanager
def read_workdir(workdir: str, sync: bool = True, unreachable_ok: bool = False) -> Iterator[Store]:
    """Open a record to read it: read-only unless a sync is asked for and could change something.

    A record this user may write is opened for writing at once when a sync
    is asked for, and synced only if something could change: one connection
    where a read-only look first would make two.
    """
    from pbt_tracker.errors import PbtTrackError
    from pbt_tracker.store.readonly import open_store_read_only

    if sync and _may_write(workdir):
        with open_workdir(workdir, sync=False) as writable:  # which turns pbt-track's errors into click's
            if _may_change(writable):
                sync_and_tell(writable, unreachable_ok)
            yield writable
        return
    store = None
    try:
        store = open_store_read_only(workdir)
        if store is not None and sync and _may_change(store):
            store.close()
            store = None
    except PbtTrackError as error:
        if store is not None:
            store.close()
        raise click.ClickException(str(error)) from None
    if store is None:
        with open_workdir(workdir, sync=sync, unreachable_ok=unreachable_ok) as store:
            yield store
        return
    try:
        yield store
    except PbtTrackError as error:
        raise click.ClickException(str(error)) from None
    finally:
        store.close()


def _may_write(workdir: str) -> bool:
    """Whether this user can write the record and its folder (a journal's files go beside it)."""
    from pbt_tracker.store.connection import DB_FILENAME

    folder = os.path.abspath(workdir)
    return os.access(os.path.join(folder, DB_FILENAME), os.W_OK) and os.access(folder, os.W_OK)


def _may_change(store: Store) -> bool:
    """Whether a sync could change anything in the record: a job of a followed backend not yet settled."""
    from pbt_tracker.backends import unfollowed
    from pbt_tracker.store import queries

    with store.read() as connection:
        return queries.may_change(connection, unfollowed())


def sync_and_tell(store: Store, unreachable_ok: bool = False) -> SyncResult | None:
    from pbt_tracker.errors import SchedulerError
    from pbt_tracker.tracker.sync import sync_workdir

    try:
        result = sync_workdir(store)
    except SchedulerError as error:
        if not unreachable_ok or error.backend is None:  # a report goes on where a backend's scheduler is away
            raise
        from pbt_tracker import backends
        from pbt_tracker.store import queries
        from pbt_tracker.store.times import iso_text

        title = backends.get(error.backend).title
        with store.read() as connection:
            when = queries.last_answer(connection, error.backend)
        since = (f"the last sync {title} answered, at {iso_text(when)}" if when
                 else f"launch ({title} never answered a sync)")
        click.echo(f"Note: {title} did not answer, so the states below are as of {since}: {error}", err=True)
        return None
    for note in result.notes:
        click.echo(f"Note: {note}", err=True)
    return result
