"""`pbt-track cancel`: stop jobs, then read what Slurm says of them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from pbt_tracker.cli import complete
from pbt_tracker.cli.common import (
    no_sync_option,
    open_workdir,
    selection,
    selection_options,
    sync_and_tell,
    workdir_option,
)
from pbt_tracker.cli.group import cli

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pbt_tracker.store import Store
    from pbt_tracker.store.selection import Selection
    from pbt_tracker.tracker.cancel import CancelResult


@cli.command()
@click.argument("targets", nargs=-1, metavar="[JOB_ID|EXPERIMENT]...", shell_complete=complete.experiments_or_jobs)
@workdir_option
@selection_options
@click.option("--all", "everything", is_flag=True, help="Every job of the workdir that may still run.")
@click.option("--dry-run", is_flag=True, help="Show what would be cancelled; cancel nothing.")
@no_sync_option
def cancel(targets: tuple[str, ...], workdir: str, run: str | None, experiments: tuple[str, ...],
           states: tuple[str, ...], launch: int | None, all_launches: bool, job_ids: tuple[str, ...],
           everything: bool, dry_run: bool, no_sync: bool) -> None:
    """Cancel jobs with one scancel (NGC jobs: one ngc batch kill); other experiments' jobs are left alone.

    Arguments are job ids (7765, 4242_3, comma lists too) or experiment names, as scancel takes them.

    \b
    Example:
        pbt-track cancel 7765 03_toy_pbt
        pbt-track cancel --experiment 02_ant_pbt_v1 --workdir ./slurm_logs
        pbt-track cancel -t PD --dry-run
    """
    from pbt_tracker.errors import PbtTrackError
    from pbt_tracker.tracker.cancel_selection import check_cancel_selection

    jobs = tuple(target for target in targets if _looks_like_job_ids(target))
    names = tuple(target for target in targets if not _looks_like_job_ids(target))
    chosen = selection(run, experiments + names, states, launch, all_launches, job_ids=job_ids + jobs)
    try:
        check_cancel_selection(chosen, everything)
    except PbtTrackError as error:
        raise click.ClickException(str(error)) from None
    # The selection is made on the record as it is: a job that has ended since is refused by scancel, and the
    # one squeue listing after scancel settles the states of the jobs it accepted. Where jobs submit their own
    # successors, the record is brought up to date first, so that a successor sent since the last sync is reached.
    with open_workdir(workdir, sync=False) as store:
        if not dry_run:
            store.check_before_writing(aside=True)  # every page, while the cancel's own modules load
        from pbt_tracker.tracker.cancel import cancel_jobs

        if not no_sync and _jobs_send_successors(store, chosen):
            sync_and_tell(store)
        if jobs and names:  # scancel's arguments add up: the named experiments' jobs join the job ids
            chosen = chosen._replace(experiments=experiments, job_ids=chosen.job_ids + _job_ids_of(store, names))
        result = cancel_jobs(store, chosen, everything, dry_run, settle=not no_sync)
        if result.accepted and not no_sync:
            _settle(store, result)
    for advice in result.advice:
        click.echo(f"Note: {advice}", err=True)
    if result.in_flight and not result.targets:
        raise click.ClickException(_still_sending(result.in_flight))
    if not result.targets:
        click.echo("Nothing to cancel: no job of this selection may still be running.")
        return
    verb = "Would cancel" if dry_run else "Cancelled"
    click.echo("\n".join(  # one write: a cancel of a whole population prints a line per job
        _target_line(verb, experiment, job_id, result) for experiment, job_id in result.targets
    ))
    if result.in_flight:
        raise click.ClickException(_still_sending(result.in_flight))
    unsettled = []
    if result.refused:
        unsettled.append(
            f"{_programs(result.refused, result.said_by)} refused {len(result.refused)} of {len(result.targets)} "
            "job(s), listed above; their states were left as they were: run `pbt-track sync` to see where they stand"
        )
    if result.lost:
        unsettled.append(
            f"{_programs(result.lost, result.said_by)} gave no answer ({'; '.join(dict.fromkeys(result.lost.values()))}) "
            f"for {len(result.lost)} of {len(result.targets)} job(s), listed above: they may have been cancelled; "
            "the next sync records what Slurm says"
        )
    if unsettled:
        raise click.ClickException("; and ".join(unsettled))


def _target_line(verb: str, experiment: str, job_id: str | None, result: CancelResult) -> str:
    """What is known of one job: cancelled, refused with the scheduler's reason, or unknown for want of an answer."""
    if job_id is None:
        return f"{verb} {experiment} (not started)"
    program = result.said_by.get(job_id, "scancel")
    if job_id in result.refused:
        return f"Not cancelled {experiment} (job {job_id}): {program} said: {result.refused[job_id]}"
    if job_id in result.lost:
        return f"Maybe cancelled {experiment} (job {job_id}): {program} gave no answer ({result.lost[job_id]})"
    return f"{verb} {experiment} (job {job_id})"


def _programs(jobs: Mapping[str, str], said_by: Mapping[str, str]) -> str:
    """Who answered (or did not) about these jobs: scancel, ngc, or both."""
    return " and ".join(dict.fromkeys(said_by.get(job_id, "scancel") for job_id in jobs))


def _still_sending(names: Sequence[str]) -> str:
    return (f"{len(names)} attempt(s) were still being submitted when the cancel stopped waiting, and are not "
            f"cancelled: {', '.join(names)}; run the same cancel again once they have a job id (`pbt-track report`)")


def _settle(store: Store, cancelled: CancelResult) -> None:
    """The cancelled jobs' states after scancel; a scheduler that does not answer now leaves them to `sync`."""
    from pbt_tracker.errors import SchedulerError
    from pbt_tracker.tracker.cancel import settle_cancelled

    try:
        settled = settle_cancelled(store, cancelled.accepted, cancelled.settling)
    except SchedulerError as error:
        click.echo(f"Note: the states after scancel are not read yet ({error}); `pbt-track sync` reads them", err=True)
        return
    for note in settled.notes:
        click.echo(f"Note: {note}", err=True)


def _jobs_send_successors(store: Store, chosen: Selection) -> bool:
    """Whether to sync before scancel; a name or state that matches nothing is refused before that sync writes."""
    from pbt_tracker.store import queries

    with store.read() as connection:
        if not queries.jobs_send_successors(connection):
            return False
        queries.check_names_exist(connection, chosen)
    return True


def _job_ids_of(store: Store, names: tuple[str, ...]) -> tuple[str, ...]:
    """Every job id the named experiments' attempts had (cancel keeps those that may still run)."""
    from pbt_tracker.report.rows import report_rows
    from pbt_tracker.store.selection import Selection

    rows = report_rows(store, Selection(experiments=names, all_attempts=True))
    return tuple(row.job_id for row in rows if row.job_id)


def _looks_like_job_ids(text: str) -> bool:
    """`7765`, `4242_3` or a comma list of them; anything else is an experiment name."""
    return all(part.replace("_", "").isdigit() and not part.startswith("_") for part in text.split(","))
