"""`pbt-track sync` and `report`: the record brought up to date, and shown."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from pbt_tracker.cli.common import (
    no_sync_option,
    open_workdir,
    read_workdir,
    selection,
    selection_options,
    sync_and_tell,
    workdir_option,
)
from pbt_tracker.cli.group import cli

if TYPE_CHECKING:
    from pbt_tracker.report.rows import ReportRow
    from pbt_tracker.store import Store
    from pbt_tracker.store.selection import Selection


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
    assert result is not None  # only a report's sync may find the scheduler away
    click.echo(
        f"Asked about {result.asked} job(s) in {result.scheduler_calls} scheduler call(s); {result.changed} changed."
    )


def _columns(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    from pbt_tracker.errors import PbtTrackError
    from pbt_tracker.report.table import parse_columns

    try:
        return parse_columns(value)
    except PbtTrackError as error:
        raise click.BadParameter(str(error)) from None


@cli.command()
@workdir_option
@selection_options
@click.option("--all-attempts", is_flag=True, help="Every attempt, not only each experiment's latest.")
@click.option("--format", "output_format", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--pbt", is_flag=True, help="Add each PBT policy's live iteration, objectives and hyperparameters, from its copied history.")
@click.option("-o", "--columns", callback=_columns, metavar="A,B,...",
              help="Only these columns, in this order, in every format (run, experiment, attempt, job_id, state, "
                   "exit_code, elapsed, node, log, script, launch_id, backend, reason, submitted_at, started_at, "
                   "ended_at, policy, iteration, objective, best, params, partition, time_limit, time_left).")
@click.option("--wide", is_flag=True, help="Every default column at full length, and the pending reason.")
@click.option("--watch", type=float, is_flag=False, flag_value=2.0, default=None, metavar="[SECONDS]",
              help="Redraw every SECONDS (2 alone), with one sync per refresh; Ctrl-C ends it.")
@no_sync_option
def report(workdir: str, run: str | None, experiments: tuple[str, ...], states: tuple[str, ...],
           launch: int | None, all_launches: bool, job_ids: tuple[str, ...], all_attempts: bool, output_format: str,
           pbt: bool, columns: tuple[str, ...] | None, wide: bool, watch: float | None, no_sync: bool) -> None:
    """Show where every experiment stands: one row per experiment, its latest attempt.

    An experiment launched again shows its newest launch; --launch N or
    --all-launches shows the older ones.

    The table fits the terminal, 80 columns at least (COLUMNS is honoured):
    the log shrinks to its file name, then columns are dropped; -o or --wide
    choose otherwise. -o also chooses and orders the JSON and CSV columns.
    The keeper's own job (run pbt-track-keeper) is one line below the table.

    \b
    Example:
        pbt-track report --workdir ./slurm_logs
        pbt-track report -t F,TO --format json
        pbt-track report -j 7609 -o experiment,state,log
        pbt-track report -o job_id,experiment --format csv
        pbt-track report --pbt --watch 10
    """
    import shutil
    import sys

    from pbt_tracker.report.rows import keeper_apart, keeper_job_line, render, report_rows, wrapped

    chosen = selection(run, experiments, states, launch, all_launches, job_ids=job_ids, all_attempts=all_attempts)
    if columns:
        from pbt_tracker.report.table import PBT

        pbt = pbt or bool(set(columns) & set(PBT))

    def draw() -> str:
        if pbt:  # the workspaces' new iteration files are copied into the record first
            from pbt_tracker.pbt.history import copy_history

            with open_workdir(workdir, sync=False) as store:
                copy_history(store)
        with read_workdir(workdir, sync=not no_sync, unreachable_ok=True) as store:
            rows, keeper = keeper_apart(report_rows(store, chosen, pbt=pbt), run)
            # a CSV, and JSON's chosen columns, show no decisions
            latest = {} if output_format == "csv" or (output_format == "json" and columns) else _keeper_decisions(store)
            notes = _notes(rows) if output_format == "table" else ""  # a backend the registry lacks is one line
            if output_format == "table" and not rows and not all_launches and launch is None:
                notes += _forgotten(store)
            if pbt and output_format == "table":  # an undone decision or a policy started over is never silent
                from pbt_tracker.report.decisions import undone_lines
                from pbt_tracker.report.overs import over_lines

                notes = undone_lines(store, [row.experiment for row in rows]) + over_lines(store, rows) + notes
            started_over = None
            if pbt and output_format == "json" and not columns:
                from pbt_tracker.report.overs import started_over_field

                started_over = started_over_field(store, rows)
        if output_format != "table":
            import io

            from pbt_tracker.report.stream import write_report

            buffer = io.StringIO()
            write_report(buffer, output_format, rows, None if output_format == "csv" or columns else latest, columns,
                         started_over)
            return buffer.getvalue()
        from pbt_tracker.report.keeper import keeper_lines
        from pbt_tracker.report.table import wants_colour

        width = None if wide else max(80, shutil.get_terminal_size().columns)
        table = render(rows, output_format, all_attempts, pbt, columns, width, wants_colour(sys.stdout))
        # The lines below wrap only for a reader at a terminal: piped to grep or a script, each stays whole.
        below = width if sys.stdout.isatty() else None
        return table + wrapped(keeper_job_line(keeper) + keeper_lines(rows, latest) + notes, below)

    if watch is None and output_format != "table" and not pbt:
        _stream(workdir, chosen, run, output_format, columns, no_sync)
        return
    if watch is None:
        click.echo(draw(), nl=False)
        return
    from pbt_tracker.report.watch import watch_loop

    watch_loop(draw, watch, sys.stdout)


def _stream(workdir: str, chosen: Selection, run: str | None, output_format: str, columns: tuple[str, ...] | None,
            no_sync: bool) -> None:
    """JSON or CSV written while the record is read: a year of launches is never held whole, as rows or as text."""
    import sys

    from pbt_tracker.report.rows import keeper_rows_apart, reading_rows
    from pbt_tracker.report.stream import write_report

    with read_workdir(workdir, sync=not no_sync, unreachable_ok=True) as store:
        # a CSV, and JSON's chosen columns, show no decisions
        latest = None if output_format == "csv" or columns else _keeper_decisions(store)
        with reading_rows(store, chosen) as rows:
            write_report(sys.stdout, output_format, keeper_rows_apart(rows, run), latest, columns)
    sys.stdout.flush()


def _notes(rows: list[ReportRow]) -> str:
    from pbt_tracker.backends import report_notes

    return report_notes([row.backend for row in rows])


def _forgotten(store: Store) -> str:
    """Why a report is empty when launches were forgotten, and how to see them."""
    from pbt_tracker.tracker.launches import list_launches

    forgotten = [launch for launch in list_launches(store, include_forgotten=True) if launch.forgotten]
    if not forgotten:
        return ""
    named = ", ".join(f"{launch.id} ({launch.run}, {launch.experiments} experiments)" for launch in forgotten)
    noun = "launch" if len(forgotten) == 1 else "launches"
    return f"Forgotten {noun} {named}: `pbt-track report --all-launches` shows {'it' if len(forgotten) == 1 else 'them'}.\n"


def _keeper_decisions(store: Store) -> dict[tuple[int, str], dict[str, str]]:
    from pbt_tracker.report.keeper import latest_by_experiment

    return latest_by_experiment(store)
