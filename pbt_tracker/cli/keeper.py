"""`pbt-track watch`: the keeper, in this shell or (--submit) as a Slurm job of its own."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from pbt_tracker.cli.common import resource_changes, resource_options, workdir_option
from pbt_tracker.cli.group import cli

if TYPE_CHECKING:
    from pbt_tracker.keeper.loop import Keeper, WatchOptions
    from pbt_tracker.store import Store


def _watch_args(workdir: str, values: dict[str, Any]) -> list[str]:
    """The options to hand to the keeper job, the workdir made absolute."""
    import os

    args = ["--workdir", os.path.abspath(workdir)]
    for name in ("run", "interval", "max_attempts", "stall_after", "on_event"):
        if values[name] is not None:
            args += [f"--{name.replace('_', '-')}", str(values[name])]
    for experiment in values["experiments"]:
        args += ["--experiment", str(experiment)]
    args += [f"--{name.replace('_', '-')}" for name in ("resume_failed", "restart_stalled") if values[name]]
    return args


@cli.command()
@workdir_option
@click.option("--run", metavar="NAME", help="Only experiments of this run.")
@click.option("--experiment", "experiments", multiple=True, metavar="NAME", help="Only this experiment or base name (repeatable).")
@click.option("--interval", type=click.FloatRange(min=0.05), default=None, metavar="SECONDS", help="Seconds between two syncs [default: 60].")
@click.option("--max-attempts", type=click.IntRange(min=1), metavar="N", help="Resume an experiment until it has had N attempts.")
@click.option("--resume-failed", is_flag=True, help="Also resume FAILED and OUT_OF_MEMORY attempts.")
@click.option("--stall-after", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="A RUNNING PBT policy without a new iteration for this long is stalled [default: from its own pace].")
@click.option("--restart-stalled", is_flag=True, help="Cancel a stalled policy and resume it.")
@click.option("--on-event", metavar="CMD", help="Run CMD (split like a shell, no shell) with each event as JSON on stdin.")
@click.option("--once", is_flag=True, help="One sync and one round of decisions, then exit.")
@click.option("--submit", "as_job", is_flag=True, help="Run the keeper as a one-CPU Slurm job that continues itself.")
@click.option("--keeper-time", default="24:00:00", show_default=True, metavar="TIME", help="With --submit: each keeper job's time limit.")
@click.option("--keeper-partition", metavar="NAME", help="With --submit: the keeper job's partition.")
@resource_options
@click.option("--as-keeper-job", "in_job", is_flag=True, hidden=True)
def watch(workdir: str, in_job: bool, as_job: bool, keeper_time: str, keeper_partition: str | None,
          **values: Any) -> None:
    """Keep a population alive: resume what ends early, until every experiment is final.

    Once per interval: sync, then resume experiments whose latest attempt
    ended TIMEOUT, NODE_FAIL, PREEMPTED, BOOT_FAIL or SUBMIT_FAILED (FAILED
    and OUT_OF_MEMORY too with --resume-failed), and report RUNNING PBT
    policies that stopped writing iterations. Every decision is recorded
    before it is acted on; `report` shows the latest. --slurm_partition and
    the other resource options change what the resumes ask Slurm for, as
    `resubmit-failed` takes them.

    \b
    Example:
        pbt-track watch --workdir ./slurm_logs --max-attempts 10 --restart-stalled
        pbt-track watch --workdir ./slurm_logs --submit --on-event "notify-send pbt"
    """
    from pbt_tracker.cli.common import open_workdir, sync_and_tell
    from pbt_tracker.errors import PbtTrackError
    from pbt_tracker.keeper.job import check_time_limit
    from pbt_tracker.keeper.loop import Keeper

    resources = resource_changes(values)
    if as_job and values["once"]:
        raise click.UsageError("--submit starts a keeper that runs until the end; it cannot take --once")
    job_args = _watch_args(workdir, values) + [arg for name, value in resources.items()
                                                for arg in (f"--{name}", str(value))] + ["--keeper-time", keeper_time] + (
        ["--keeper-partition", keeper_partition] if keeper_partition else [])
    try:  # the options alone, before the record is opened: a sync or the keeper's lease would write to it
        options = _watch_options(values, resources)
        if as_job:
            check_time_limit(keeper_time)
    except PbtTrackError as error:
        raise click.ClickException(str(error)) from None
    # A keeper job found on record is live only if the scheduler still says so: --submit syncs first (a
    # keeper killed inside its job leaves the record RUNNING until then); the keeper itself syncs each pass.
    with open_workdir(workdir, sync=False) as store:
        try:
            keeper = Keeper(store, options, click.echo)
            keeper.check_options()
            if as_job:
                sync_and_tell(store)
                _submit(store, job_args, keeper_time, keeper_partition)
                return
            code = _watch(store, keeper, job_args if in_job else None, keeper_time, keeper_partition)
        except PbtTrackError as error:
            raise click.ClickException(str(error)) from None
    if code:
        raise SystemExit(code)


def _submit(store: Store, job_args: list[str], keeper_time: str, partition: str | None) -> None:
    from pbt_tracker.keeper.job import submit_keeper

    job = submit_keeper(store, job_args, keeper_time, partition, click.echo)
    if job.error and job.uncertain:
        raise click.ClickException(f"the keeper job may have been submitted ({job.error}); pbt-track will find out "
                                   "at the next sync")
    if job.error:
        raise click.ClickException(f"the keeper job was not submitted: {job.error}")


def _watch_options(values: dict[str, Any], resources: dict[str, Any]) -> WatchOptions:
    from pbt_tracker.keeper.events import event_argv, event_timeout
    from pbt_tracker.keeper.loop import WatchOptions
    from pbt_tracker.keeper.rules import Rules
    from pbt_tracker.store.selection import Selection

    return WatchOptions(
        rules=Rules(values["max_attempts"], bool(values["resume_failed"]), values["stall_after"],
                    bool(values["restart_stalled"])),
        selection=Selection(run=values["run"], experiments=tuple(values["experiments"])),
        interval=values["interval"] or 60.0,
        once=bool(values["once"]),
        on_event=event_argv(str(values["on_event"])) if values["on_event"] is not None else None,
        event_timeout=event_timeout(),
        resubmit_options=resources,
    )


def _watch(store: Store, keeper: Keeper, job_args: list[str] | None, keeper_time: str, partition: str | None) -> int:
    import signal
    import threading

    handled = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1)
    previous = {}
    if threading.current_thread() is threading.main_thread():
        def stop(signum: int, _frame: object) -> None:
            keeper.continuation_wanted = keeper.continuation_wanted or signum == signal.SIGUSR1
            keeper.stop.set()

        previous = {signum: signal.signal(signum, stop) for signum in handled}
    try:
        outcome = keeper.run()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if outcome == "stopped" and keeper.continuation_wanted and job_args is not None:
        from pbt_tracker.keeper.job import submit_keeper

        job = submit_keeper(store, job_args, keeper_time, partition, click.echo)
        return 1 if job.error else 0
    if outcome == "stopped":
        click.echo("Stopped; the experiments go on, and `pbt-track watch` takes them up again.")
    if outcome == "done" and keeper.unfinished:
        shown = ", ".join(f"{name} {state} (attempt {attempt})" for name, state, attempt in keeper.unfinished[:5])
        more = f" and {len(keeper.unfinished) - 5} more" if len(keeper.unfinished) > 5 else ""
        raise click.ClickException(
            f"{len(keeper.unfinished)} experiment(s) ended without completing: {shown}{more}; `pbt-track report` "
            "shows why, `pbt-track resubmit-failed` (or `watch --resume-failed`) runs them again"
        )
    return 0

