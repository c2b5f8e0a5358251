"""`pbt-track launches` and `forget`: the launches of a workdir, and putting old ones away."""

from __future__ import annotations

import click

from pbt_tracker.cli.common import no_sync_option, open_workdir, sync_and_tell, workdir_option
from pbt_tracker.cli.group import cli


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
@click.option("--purge", is_flag=True, help="Delete its record instead (asks first); its files stay on disk.")
@click.option("--yes", is_flag=True, help="With --purge: do not ask.")
@no_sync_option
def forget(workdir: str, launch_id: int, purge: bool, yes: bool, no_sync: bool) -> None:
    """Hide a launch from every command but --all-launches; nothing is deleted.

    With --purge its record is deleted, once none of its jobs may still run.

    \b
    Example:
        pbt-track forget --launch 3
        pbt-track forget --launch 3 --purge --yes
    """
    from pbt_tracker.errors import PbtTrackError
    from pbt_tracker.tracker.launches import describe_for_purge, forget_launch, purge_launch

    with open_workdir(workdir, sync=not no_sync) as store:
        try:
            if not purge:
                done = forget_launch(store, launch_id)
            else:
                about = describe_for_purge(store, launch_id)
                if not yes:
                    click.confirm(f"Delete launch {launch_id} ({about.run}, {about.experiments} experiments) "
                                  "from the record?", abort=True)
                purge_launch(store, launch_id)
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
            click.echo(f"Note: {done.live} of its submissions may still run; scancel.sh still covers them.")
