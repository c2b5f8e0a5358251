"""`pbt-track show` and `logs`: one experiment's history, and its log."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from pbt_tracker.cli import complete
from pbt_tracker.cli.common import no_sync_option, read_workdir, workdir_option
from pbt_tracker.cli.group import cli

if TYPE_CHECKING:
    from pbt_tracker.report.logs import LogTarget


def _name_or_policy(name: str | None, policy: int | None) -> None:
    if (name is None) == (policy is None):
        raise click.UsageError("name one experiment: NAME or --policy N")


@cli.command()
@click.argument("name", required=False, shell_complete=complete.experiments)
@click.option("--policy", type=int, metavar="N", help="The experiment with pbt.policy_idx=N (newest launch).")
@workdir_option
@no_sync_option
def show(name: str | None, policy: int | None, workdir: str, no_sync: bool) -> None:
    """Every attempt of one experiment: states with times, exit codes, script, sbatch command, cancellations.

    \b
    Example:
        pbt-track show 03_toy_pbt --workdir ./slurm_logs
        pbt-track show --policy 3
    """
    from pbt_tracker.report.detail import describe

    _name_or_policy(name, policy)
    with read_workdir(workdir, sync=not no_sync) as store:
        text = describe(store, name, policy)
    click.echo(text, nl=False)


@cli.command()
@click.argument("name", required=False, shell_complete=complete.experiments)
@click.option("--policy", type=int, metavar="N", help="The experiment with pbt.policy_idx=N (newest launch).")
@click.option("-n", "--lines", type=click.IntRange(min=0), metavar="LINES", help="Only the last LINES lines.")
@click.option("--attempt", type=click.IntRange(min=1), metavar="K", help="Attempt K's log, not the latest's.")
@click.option("--slurm", "slurm_log", is_flag=True, help="Slurm's own log of an array task (cancellations, time limits).")
@click.option("-f", "--follow", is_flag=True, help="Keep printing as the log grows, and move to the next attempt's log.")
@workdir_option
@no_sync_option
def logs(name: str | None, policy: int | None, lines: int | None, attempt: int | None, slurm_log: bool,
         follow: bool, workdir: str, no_sync: bool) -> None:
    """Print an experiment's log: its latest attempt's, wherever that attempt writes.

    \b
    Example:
        pbt-track logs 03_toy_pbt -n 50
        pbt-track logs --policy 3 -f
        pbt-track logs 03_toy_pbt --attempt 1 --slurm
    """
    import sys
    import time

    from pbt_tracker.report.logs import follow as follow_log
    from pbt_tracker.report.logs import last_lines, read_target
    from pbt_tracker.states import PRINT_ONLY, SUBMIT_FAILED

    _name_or_policy(name, policy)
    with read_workdir(workdir, sync=not no_sync) as store:
        target = read_target(store, name, policy, attempt, slurm_log)
        if follow:
            from pbt_tracker.errors import PbtTrackError

            def current() -> LogTarget:
                try:
                    return read_target(store, name, policy, attempt, slurm_log)
                except PbtTrackError:
                    return target

            follow_log(current, sys.stdout, sys.stderr, lines, time.sleep)
            return
    if target.state in (PRINT_ONLY, SUBMIT_FAILED):
        raise click.ClickException(f"{target.experiment} attempt {target.attempt} is {target.state}: it never ran, "
                                   f"so it has no log; `pbt-track show {target.experiment}` tells why")
    if target.path is None or not target.path.is_file():
        job = f"job {target.job_id}, " if target.job_id else ""
        raise click.ClickException(
            f"{target.experiment} attempt {target.attempt} ({job}{target.state}) has no log yet"
            + (f" at {target.path}" if target.path else "") + "; -f waits for it"
        )
    click.echo(last_lines(target.path.read_text(errors="replace"), lines), nl=False)
