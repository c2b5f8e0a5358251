"""`pbt-track resubmit-failed`: send each failed experiment again, a PBT policy from its latest checkpoint.

Apart from `cancel`, so that a cancel does not build the resource options only a resubmission takes.
"""

from __future__ import annotations

from typing import Any

import click

from pbt_tracker.cli.common import (
    launch_selection_options,
    no_sync_option,
    open_workdir,
    resource_changes,
    resource_options,
    selection,
    sync_and_tell,
    workdir_option,
)
from pbt_tracker.cli.group import cli


@cli.command("resubmit-failed")
@workdir_option
@click.option("--run", metavar="NAME", help="Only experiments of this run.")
@click.option("--experiment", "experiments", multiple=True, metavar="NAME", help="Only this experiment or base name (repeatable).")
@launch_selection_options
@click.option("--include-cancelled", is_flag=True, help="Also experiments whose latest attempt was cancelled.")
@click.option("--include-uncertain", is_flag=True,
              help="Also experiments whose sbatch answer was lost (SUBMIT_UNCERTAIN): they may be running.")
@click.option("--max-attempts", type=int, metavar="N", help="Leave experiments that already had N attempts.")
@click.option("--accept-changed", is_flag=True, help="Submit scripts changed on disk as they are now (and record them).")
@click.option("--from-scratch", is_flag=True, help="PBT policies: send the original command, not the continuation.")
@click.option("--dry-run", is_flag=True, help="Show what would be resubmitted; submit nothing.")
@resource_options
@no_sync_option
def resubmit_failed(workdir: str, run: str | None, experiments: tuple[str, ...], launch: int | None,
                    all_launches: bool, include_cancelled: bool, include_uncertain: bool, max_attempts: int | None,
                    accept_changed: bool, from_scratch: bool, dry_run: bool, no_sync: bool, **resources: Any) -> None:
    """Submit each failed experiment again, as its next attempt.

    Failed means the latest attempt ended FAILED, TIMEOUT, OUT_OF_MEMORY,
    NODE_FAIL, BOOT_FAIL, DEADLINE, PREEMPTED or SUBMIT_FAILED. A
    SUBMIT_UNCERTAIN attempt (sbatch's answer was lost, and neither squeue
    nor sacct has settled it) may be running, and goes again only with
    --include-uncertain. An IsaacGymEnvs PBT policy (pbt.policy_idx and pbt.workspace in its command)
    continues from its latest own checkpoint, in a new script; other
    experiments send their recorded script again.

    --slurm_partition, --slurm_cpus_per_gpu, --slurm_gpus_per_job,
    --slurm_timeout and --slurm_sbatch_template change what the new attempts
    ask Slurm for (a new script from the template); they are recorded on
    the attempts, and later attempts keep them.

    \b
    Example:
        pbt-track resubmit-failed --workdir ./slurm_logs --max-attempts 3
        pbt-track resubmit-failed --slurm_partition gpu --slurm_cpus_per_gpu 8
    """
    from pbt_tracker.errors import PbtTrackError
    from pbt_tracker.tracker.resubmit import check_max_attempts, check_resubmit_selection
    from pbt_tracker.tracker.resubmit import resubmit_failed as resubmit

    try:
        check_max_attempts(max_attempts)
    except PbtTrackError as error:
        raise click.ClickException(str(error)) from None
    chosen = selection(run, experiments, (), launch, all_launches)
    with open_workdir(workdir, sync=False) as store:
        check_resubmit_selection(store, chosen)
        if not no_sync:
            sync_and_tell(store)
        result = resubmit(
            store, chosen, include_cancelled=include_cancelled,
            include_uncertain=include_uncertain, max_attempts=max_attempts, accept_changed=accept_changed,
            dry_run=dry_run, from_scratch=from_scratch, echo=click.echo, options=resource_changes(resources),
        )
    for name in result.skipped_max_attempts:
        click.echo(f"Left {name}: it already had {max_attempts} attempt(s).")
    for name, job_id, launch_id in result.skipped_live:
        what = f"job {job_id}" if job_id else "a submission"
        click.echo(f"Left {name}: {what} of launch {launch_id} may still run; cancel it first.")
    for name, launch_id in result.skipped_older:
        click.echo(f"Left {name} of launch {launch_id}: a newer launch of it is resubmitted instead.")
    if result.skipped_uncertain:
        click.echo(f"Left {', '.join(result.skipped_uncertain)}: may have been submitted (SUBMIT_UNCERTAIN, no answer "
                   "has settled it); check squeue and sacct, then pass --include-uncertain to send again.")
    if not result.planned:
        click.echo("Nothing to resubmit: no experiment's latest attempt failed.")
        return
    if dry_run:
        for name, attempt in result.planned:
            decision = result.decisions.get(name)
            click.echo(f"Would resubmit {name} as attempt {attempt}" + (f": {decision.message}" if decision else ""))
        return
    for path in result.rewritten:
        click.echo(f"Rewrote {path} from the record.")
    if result.interrupted:
        raise click.ClickException("interrupted: the resubmitted experiments still running were stopped")
    if result.failed:
        uncertain = sum(job.uncertain for job in result.jobs if job.error)
        if uncertain:
            raise click.ClickException(
                f"{len(result.failed)} of {result.attempted} resubmissions did not get a job id; {uncertain} of them "
                "may have been submitted; pbt-track will find out at the next sync; see above")
        from pbt_tracker.backends.slurm.resources import resubmit_hint

        hint = resubmit_hint([job.error for job in result.jobs if job.error and not job.uncertain])
        again = f";{hint[:-1]}" if "--slurm_" in hint else ""
        raise click.ClickException(f"{len(result.failed)} of {result.attempted} resubmissions failed; see above{again}")
