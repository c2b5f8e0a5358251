"""`pbt-track continue`: a job asks for its own continuation, recorded before it is sent."""

from __future__ import annotations

import click

from pbt_tracker.cli.common import open_workdir, workdir_option
from pbt_tracker.cli.group import cli


@cli.command("continue")
@workdir_option
@click.option("--job", "job_id", required=True, metavar="JOB_ID", help="The job whose experiment continues.")
def continue_(workdir: str, job_id: str) -> None:
    """Submit the next attempt of the experiment a job runs, from inside that job.

    Meant for the end of a time-limited job script (the timeout_continue
    template): a PBT policy resumes from its latest own checkpoint, any other
    experiment sends its script again. The attempt is recorded (origin
    continue, its parent this job) before sbatch runs; asked twice for one
    job, it names the attempt already recorded.

    \b
    Example:
        pbt-track continue --workdir ./slurm_logs --job "$SLURM_JOB_ID"
    """
    from pbt_tracker.backends.slurm.continue_job import continue_job

    with open_workdir(workdir, sync=False) as store:
        result = continue_job(store, job_id, echo=click.echo)
    if result.already:
        where = f"job {result.job_id}" if result.job_id else "not sent"
        click.echo(f"{result.experiment}: job {job_id} already continued as attempt {result.attempt} ({where})")
        return
    if result.error:
        what = f"the continuation of job {job_id} ({result.experiment}, attempt {result.attempt})"
        if result.uncertain:
            raise click.ClickException(f"{what} may have been submitted ({result.error}); pbt-track will find out "
                                       "at the next sync")
        raise click.ClickException(f"{what} was not submitted: {result.error}")
