"""`pbt-track sync` and `report`: the record brought up to date, and shown."""

from __future__ import annotations

import click

from pbt_tracker.cli.common import no_sync_option, open_workdir, selection, selection_options, sync_and_tell, workdir_option
from pbt_tracker.cli.group import cli


@cli.command()
@workdir_option
def sync(workdir: str) -> None:
    """Ask the scheduler about every job that has not ended, and record what changed.

    \b
    Example:
        pbt-track sync --workdir ./slurm_logs
    """
    with open_workdir(workdir, sync=False) as store:
        result = sync_and_tell(store)
    click.echo(
        f"Asked about {result.asked} job(s) in {result.scheduler_calls} scheduler call(s); {result.changed} changed."
    )


@cli.command()
@workdir_option
@selection_options
@click.option("--all-attempts", is_flag=True, help="Every attempt, not only each experiment's latest.")
@click.option("--format", "output_format", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--pbt", is_flag=True, help="Add each PBT policy's live iteration, objectives and hyperparameters, from its copied history.")
@no_sync_option
def report(workdir: str, run: str | None, experiments: tuple[str, ...], states: tuple[str, ...], launch: int | None,
           all_launches: bool, all_attempts: bool, output_format: str, pbt: bool, no_sync: bool) -> None:
    """Show where every experiment stands: one row per experiment, its latest attempt.

    An experiment launched again shows its newest launch; --launch N or
    --all-launches shows the older ones.

    \b
    Example:
        pbt-track report --workdir ./slurm_logs
        pbt-track report --state FAILED --format json
        pbt-track report --pbt
    """
    from pbt_tracker.report import needs_sync, render, report_rows

    with open_workdir(workdir, sync=False) as store:
        if not no_sync and needs_sync(store):
            sync_and_tell(store)
        if pbt:
            from pbt_tracker.tracker.history import copy_history

            copy_history(store)
        rows = report_rows(store, selection(run, experiments, states, launch, all_launches, all_attempts=all_attempts), pbt=pbt)
        if output_format != "csv":
            from pbt_tracker.keeper_report import keeper_lines, latest_by_experiment, with_keeper_key

            latest = latest_by_experiment(store)
    if output_format == "json":
        import json

        click.echo(json.dumps(with_keeper_key(json.loads(render(rows, "json")), latest), indent=2))
        return
    click.echo(render(rows, output_format, all_attempts, pbt), nl=False)
    if output_format == "table":
        click.echo(keeper_lines(rows, latest), nl=False)
