"""`pbt-track launches` and `forget`: the launches of a workdir, and putting old ones away."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from pbt_tracker.cli.common import no_sync_option, open_workdir, sync_and_tell, workdir_option
from pbt_tracker.cli.group import cli

if TYPE_CHECKING:
    from pbt_tracker.tracker.launches import Forgotten


@cli.command()
@workdir_option
@click.option("--all-launches", is_flag=True, help="Forgotten launches too.")
@no_sync_option
def launches(workdir: str, all_launches: bool, no_sync: bool) -> None:
    """List the launches of a workdir: one row each, with a count per state of its experiments.

    The table fits the terminal, 80 columns at least (COLUMNS is honoured).

    \b
    Example:
        pbt-track launches --workdir ./slurm_logs
    """
    import shutil

    from pbt_tracker.report.rows import needs_sync
    from pbt_tracker.tracker.launches import list_launches, render_launches

    with open_workdir(workdir, sync=False) as store:
        if not no_sync and needs_sync(store):
            sync_and_tell(store)
        summaries = list_launches(store, all_launches)
    width = max(80, shutil.get_terminal_size().columns)
    click.echo(render_launches(summaries, all_launches, width), nl=False)


@cli.command()
@workdir_option
@click.option("--launch", "launch_id", type=int, required=True, metavar="N", help="The launch to forget.")
@click.option("--purge", is_flag=True, help="Delete its record instead (asks first); its files stay on disk, but for "
              "the PBT restart copies its policies left.")
@click.option("--yes", is_flag=True, help="With --purge: do not ask.")
@click.option("--unidentified-ended", is_flag=True,
              help="With --purge: you checked (NGC: ngc batch list) that its submissions accepted without a job id "
                   "pbt-track could read have ended; they no longer count as live.")
@no_sync_option
def forget(workdir: str, launch_id: int, purge: bool, yes: bool, unidentified_ended: bool, no_sync: bool) -> None:
    """Hide a launch from every command but --all-launches; nothing is deleted.

    With --purge its record is deleted, once none of its jobs may still run.

    \b
    Example:
        pbt-track forget --launch 3
        pbt-track forget --launch 3 --purge --yes
        pbt-track forget --launch 4 --purge --unidentified-ended
    """
    from pbt_tracker.errors import PbtTrackError
    from pbt_tracker.tracker.launches import check_launch_exists, describe_for_purge, forget_launch, purge_launch

    if unidentified_ended and not purge:
        raise click.UsageError("--unidentified-ended goes with --purge; add --purge, or leave it out")
    with open_workdir(workdir, sync=False) as store:
        check_launch_exists(store, launch_id)
        if not no_sync:
            sync_and_tell(store)
        try:
            if not purge:
                done = forget_launch(store, launch_id)
            else:
                about = describe_for_purge(store, launch_id, unidentified_ended)
                if not yes:
                    click.confirm(f"Delete launch {launch_id} ({about.run}, {about.experiments} experiments) "
                                  "from the record?", abort=True)
                purge_launch(store, launch_id, unidentified_ended)
        except PbtTrackError as error:
            raise click.ClickException(str(error)) from None
    if purge:
        click.echo(f"Deleted launch {launch_id} from the record; its scripts and logs are still on disk.")
    elif done.already:
        click.echo(f"Launch {launch_id} was already forgotten.")
    else:
        click.echo(f"Forgot launch {launch_id} ({done.run}, {done.experiments} experiments): "
                   "only --all-launches shows it now; nothing was deleted.")
        if done.live:
            click.echo(f"Note: {done.live} of its submissions may still run; {_still_reached(launch_id, done)}.")


def _still_reached(launch_id: int, done: Forgotten) -> str:
    """What still reaches a forgotten launch's live jobs: Slurm's scancel.sh lists them; a cancel reaches any."""
    from pbt_tracker import backends

    cancel = f"`pbt-track cancel --launch {launch_id} --all-launches` still reaches them"
    reached = "scancel.sh still covers them" if backends.get(done.backend).runs_sbatch_scripts else cancel
    if done.unidentified:
        reached += (f"; {done.unidentified} have no job id on record, which only the scheduler's own tools "
                    "(NGC: ngc batch list) can find")
    return reached
