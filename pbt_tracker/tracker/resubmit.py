"""Submitting failed experiments again, each as its next attempt, exactly once.

The next attempt is written (as SUBMITTING) in the same write transaction
that finds the failed ones, so a second resubmit, even one running at the
same time, sees that attempt as the latest and leaves the experiment alone.
How an attempt is recorded and sent is its backend's (`Backend.resubmitter`);
afterwards every backend rewrites what it derives from the jobs that may
run (`Backend.jobs_changed`: Slurm's scancel.sh).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pbt_tracker import backends, processes, states
from pbt_tracker.backends.resubmission import ResubmitRequest, ResubmitResult
from pbt_tracker.errors import OptionError
from pbt_tracker.launch.record import Echo, quiet
from pbt_tracker.store import Store, queries
from pbt_tracker.store.next_attempts import PriorAttempt, live_submissions, prior_attempts
from pbt_tracker.store.selection import Selection

__all__ = ["RESUBMITTABLE", "ResubmitResult", "check_max_attempts", "check_resubmit_selection", "resubmit_failed"]

RESUBMITTABLE = frozenset(
    {
        states.FAILED,
        states.TIMEOUT,
        states.OUT_OF_MEMORY,
        states.NODE_FAIL,
        states.BOOT_FAIL,
        states.DEADLINE,
        states.PREEMPTED,
        states.SUBMIT_FAILED,
    }
)


def resubmit_failed(
    store: Store,
    selection: Selection,
    *,
    include_cancelled: bool = False,
    include_uncertain: bool = False,
    max_attempts: int | None = None,
    accept_changed: bool = False,
    dry_run: bool = False,
    from_scratch: bool = False,
    echo: Echo = quiet,
    origin: str = "resubmit",
    options: Mapping[str, Any] | None = None,
) -> ResubmitResult:
    """Each selected failed experiment's next attempt; a PBT policy continues from its latest checkpoint.

    `from_scratch` sends PBT policies their original command instead.
    `result.decisions` says, per PBT policy, what its attempt runs.
    `options` are launch options the new attempts change (Slurm's
    partition, CPUs, GPUs, time limit, template), recorded on them. An
    attempt whose sbatch answer was lost (SUBMIT_UNCERTAIN) may be running:
    it is sent again only with `include_uncertain`, and otherwise named in
    `result.skipped_uncertain`.
    """
    check_max_attempts(max_attempts)
    uncertain = frozenset({states.SUBMIT_UNCERTAIN} if include_uncertain else ())
    wanted = RESUBMITTABLE | ({states.CANCELLED} if include_cancelled else set()) | uncertain
    query = Selection(
        run=selection.run,
        experiments=selection.experiments,
        states=tuple(sorted(wanted)),
        launch=selection.launch,
        all_launches=selection.all_launches,
    )
    result = ResubmitResult(dry_run)
    request = ResubmitRequest(dry_run, accept_changed, from_scratch, processes.this_process(), echo, origin,
                              dict(options or {}))
    resubmitters: dict[str, backends.Resubmitter] = {}  # backend name -> its resubmitter, in order of first use
    with store.write() as connection:
        queries.check_names_exist(connection, selection)
        rows = _one_per_name(prior_attempts(connection, query), result)
        live = live_submissions(connection, [row.name for row in rows], uncertain)
        if not include_uncertain:
            result.skipped_uncertain = sorted({row.name for row in prior_attempts(
                connection, query._replace(states=(states.SUBMIT_UNCERTAIN,)))})
        if not dry_run:
            for name in dict.fromkeys(row.backend for row in rows):
                backends.get(name).check_available()
        for row in rows:
            name = row.name
            if max_attempts is not None and row.attempt >= max_attempts:
                result.skipped_max_attempts.append(name)
                continue
            if name in live:
                result.skipped_live.append((name, live[name].job_id, live[name].launch_id))
                continue
            _check_options_fit(row, request.options)
            if row.backend not in resubmitters:
                resubmitters[row.backend] = backends.get(row.backend).resubmitter(store, request, result)
            resubmitters[row.backend].plan(connection, row, row.attempt + 1)
        for resubmitter in resubmitters.values():
            resubmitter.close(connection)
    if not dry_run:
        for name, decision in result.decisions.items():
            echo(f"{name}: {decision.message}")
    for resubmitter in resubmitters.values():
        resubmitter.send()
    if not dry_run:
        for backend in backends.all_backends():
            backend.jobs_changed(store)
    return result


def check_max_attempts(max_attempts: int | None) -> None:
    """Called before the record is opened: a sync writes and asks the scheduler, and bad input must do neither."""
    if max_attempts is not None and max_attempts < 1:
        raise OptionError(f"--max-attempts must be 1 or more, not {max_attempts}")


def check_resubmit_selection(store: Store, selection: Selection) -> None:
    """A name, run or launch that matches nothing, refused on the record as it is, before a sync writes to it."""
    with store.read() as connection:
        queries.check_names_exist(connection, selection)


def _check_options_fit(row: PriorAttempt, options: Mapping[str, Any]) -> None:
    """An option of one backend refused for another's experiment, before anything is recorded."""
    from pbt_tracker.backends.options import table

    owners = {option.name: option.backend for option in table()}
    for name in options:
        if owners.get(name) != row.backend:
            raise OptionError(f"--{name} changes {owners.get(name, 'no')} jobs, and {row.name} runs on the "
                              f"{row.backend} backend; select only {owners.get(name)} experiments (--experiment, --run)")


def _one_per_name(rows: list[PriorAttempt], result: ResubmitResult) -> list[PriorAttempt]:
    """Each experiment name once, its newest launch's: two launches' copies of a policy must not both run."""
    newest = {row.name: row.launch_id for row in rows}  # rows come in launch order
    kept = []
    for row in rows:
        if row.launch_id == newest[row.name]:
            kept.append(row)
        else:
            result.skipped_older.append((row.name, row.launch_id))
    return kept
