"""`pbt-track guard`: the question every job script asks before it runs its experiment."""

from __future__ import annotations

import click

from pbt_tracker.cli.common import open_workdir
from pbt_tracker.cli.group import cli


@cli.command("guard", hidden=True)
@click.option("--workdir", required=True, help="The workdir whose record holds the job's launch.")
@click.option("--launch", "launch_uuid", required=True, metavar="UUID", help="The launch's uuid.")
@click.option("--experiment", required=True, metavar="NAME", help="The experiment the script runs.")
@click.option("--script", required=True, metavar="PATH", help="The script's own path, as it was rendered.")
@click.option("--claim-fd", type=int, default=8, show_default=True, metavar="FD",
              help="The descriptor the script opened its claim file on.")
def guard(workdir: str, launch_uuid: str, experiment: str, script: str, claim_fd: int) -> None:
    """Claim an experiment for the job that runs it, then say how the job starts it.

    Run by the lines pbt-track writes into every job script, right after
    their #SBATCH block, on the claim file they opened: it waits up to
    PBT_TRACK_CLAIM_WAIT seconds for the claim, then checks that the job is
    its experiment's current attempt, and that this is the attempt's first
    start. It prints nothing (the script runs on), the path of a
    continuation the script execs (a PBT policy started again continues
    from its latest checkpoint), or `stop`; why goes to stderr, the job's log.

    \b
    Example:
        pbt_track_start=$(python -m pbt_tracker guard --workdir /w --launch 5f2c09ab... \\
            --experiment 00_ant_pbt --script /w/sbatch_00_ant_pbt.sh) || exit
    """
    from pbt_tracker import settings
    from pbt_tracker.backends.slurm.claim_lock import (
        last_runner,
        last_runner_line,
        runner_line,
        take_claim,
        write_runner,
    )
    from pbt_tracker.backends.slurm.guard import STOP, GuardRequest, JobStart, guard_start
    from pbt_tracker.errors import PbtTrackError
    from pbt_tracker.store import utcnow
    from pbt_tracker.store.times import iso_utc

    job = JobStart.from_environment()
    who = f"job {job.job_id}" if job.job_id else "this job"
    try:
        wait = settings.claim_wait()
        taken = take_claim(claim_fd, wait, lambda holder: click.echo(
            f"pbt-track: {experiment} is claimed ({holder or 'by another job'}); {who} waits up to {wait:g} s",
            err=True))
    except PbtTrackError as error:
        raise click.ClickException(str(error)) from None
    if not taken:
        holder = last_runner_line(claim_fd) or "by another job"
        click.echo(f"pbt-track: {experiment} is still claimed after {wait:g} s ({holder}); {who} does not run it",
                   err=True)
        click.echo(STOP)
        return
    runner = last_runner(claim_fd)
    with open_workdir(workdir, sync=False) as store:
        start = guard_start(store, GuardRequest(launch_uuid, experiment, script), job, runner)
    if start.message:
        click.echo(f"pbt-track: {start.message}", err=True)
    if start.action != STOP:
        since = iso_utc(utcnow())
        write_runner(claim_fd, runner_line(str(job.job_id), experiment, start.attempt, start.submission_id,
                                           job.host, since))
    if start.output:
        click.echo(start.output)
