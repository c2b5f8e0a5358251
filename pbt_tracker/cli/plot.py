"""`pbt-track plot`: every PBT policy's objective over its iterations, as a picture."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from pbt_tracker.cli import complete, paths
from pbt_tracker.cli.common import launch_selection_options, no_sync_option, open_workdir, selection, workdir_option
from pbt_tracker.cli.group import cli

if TYPE_CHECKING:
    from pbt_tracker.plot.data import PlotData


@cli.command()
@click.option("-o", "--output", required=True, metavar="FILE", type=paths.PathText(),
              help="The picture to write: FILE.png, FILE.svg, or FILE.html (a page with the SVG in it).")
@workdir_option
@click.option("--x", "x_axis", type=click.Choice(["iteration", "frame", "time"]), default="iteration",
              show_default=True, help="What the horizontal axis counts; time is wall-clock time (UTC), the "
                                      "population's real timeline.")
@click.option("--run", metavar="NAME", shell_complete=complete.runs, help="Only the policies of this run.")
@launch_selection_options
@no_sync_option
def plot(output: str, workdir: str, x_axis: str, run: str | None, launch: int | None, all_launches: bool,
         no_sync: bool) -> None:
    """Plot every PBT policy's true objective, with its restarts, replacements, attempts, crashes, cancels and
    the keeper's decisions marked.

    The history is the record's (copied from the workspaces at every sync, and
    here first), so iterations IsaacGymEnvs has since deleted are drawn too.
    Needs matplotlib: pip install 'pbt-track[plot]'.

    \b
    Example:
        pbt-track plot --workdir ./slurm_logs --output population.png
        pbt-track plot --output population.html --x frame --launch 2
        pbt-track plot --output timeline.png --x time
    """
    import os
    from pathlib import Path

    from pbt_tracker.errors import PbtTrackError
    from pbt_tracker.files import write_bytes_atomic
    from pbt_tracker.plot.draw import draw, output_format, picture_bytes, require_matplotlib

    try:
        picture_format = output_format(output)
        require_matplotlib()
    except PbtTrackError as error:
        raise click.ClickException(str(error)) from None
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise click.ClickException(f"cannot write {output}: there is no directory {folder}; create it first")
    with open_workdir(workdir, sync=not no_sync, unreachable_ok=True) as store:
        from pbt_tracker.pbt.history import copy_history
        from pbt_tracker.plot.record import plot_data_of

        copy_history(store)
        data = plot_data_of(store, selection(run, (), (), launch, all_launches), x_axis)
    figure = draw(data)
    try:
        write_bytes_atomic(Path(output), picture_bytes(figure, picture_format, data.title))
    except OSError as error:
        raise click.ClickException(f"cannot write {output}: {error.strerror}") from None
    click.echo(_summary(output, data))


def _summary(output: str, data: PlotData) -> str:
    from pbt_tracker.plot.data import COUNTED_AS, LEGEND

    count = {kind: sum(mark.kind == kind for mark in data.marks) for kind in LEGEND}
    marked = ", ".join(f"{count[kind]} {COUNTED_AS.get(kind, kind)}" for index, kind in enumerate(LEGEND)
                       if index < 3 or count[kind])
    points = sum(len(line.xs) for policy in data.policies for line in policy.lines)
    return f"Wrote {output}: {len(data.policies)} policies, {points} points; marked {marked}."
