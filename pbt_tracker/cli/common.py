"""What several commands share: the workdir, the selection, opening a record and bringing it up to date."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from pbt_tracker.store import Store
    from pbt_tracker.tracker.selection import Selection


def workdir_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--workdir",
        envvar="PBT_TRACK_WORKDIR",
        default=".",
        show_default=True,
        help="Workdir of the launches (env PBT_TRACK_WORKDIR).",
    )(command)


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
    command = click.option("--state", "states", multiple=True, metavar="STATE", help="Only jobs in this state (repeatable).")(command)
    command = click.option(
        "--experiment", "experiments", multiple=True, metavar="NAME",
        help="An experiment, or an Experiment's base name for all of its experiments (repeatable).",
    )(command)
    command = click.option("--run", metavar="NAME", help="Only experiments of this run.")(command)
    return command


def selection(run: str | None, experiments: tuple[str, ...], states: tuple[str, ...], launch: int | None = None,
              all_launches: bool = False, **extra: Any) -> Selection:
    from pbt_tracker.tracker.selection import Selection

    return Selection(run=run, experiments=experiments, states=tuple(s.upper() for s in states), launch=launch,
                     all_launches=all_launches, **extra)


@contextmanager
def open_workdir(workdir: str, sync: bool = True) -> Iterator[Store]:
    """Open a workdir's existing record, bring it up to date, and turn pbt-track's errors into click's."""
    from pbt_tracker.errors import PbtTrackError
    from pbt_tracker.store import open_store

    try:
        store = open_store(workdir, create=False)
        try:
            if sync:
                sync_and_tell(store)
            yield store
        finally:
            store.close()
    except PbtTrackError as error:
        raise click.ClickException(str(error)) from None


def sync_and_tell(store: Store):  # type: ignore[no-untyped-def]
    from pbt_tracker.tracker.sync import sync_workdir

    result = sync_workdir(store)
    for note in result.notes:
        click.echo(f"Note: {note}", err=True)
    return result
