"""One experiment in full, for `pbt-track show` and `logs`: which experiment a name or policy means, and its history as text.

Answers "what happened to policy 3" without a join over four tables: every
attempt with its states and times, what sbatch was given and said, the
cancellations that named it, and how far the policy got.
"""

from __future__ import annotations

import json
import shlex
import sqlite3
from typing import TYPE_CHECKING

from pbt_tracker import states
from pbt_tracker.errors import OptionError
from pbt_tracker.report.rows import iso_time, log_file, pbt_progress
from pbt_tracker.store import Store
from pbt_tracker.store import details as record
from pbt_tracker.store.connection import parse_time

if TYPE_CHECKING:
    from pbt_tracker.report.pbt import PbtProgress


def find_experiment(connection: sqlite3.Connection, name: str | None, policy: int | None) -> record.ExperimentRow:
    """The experiment a user means: by name, or by its `pbt.policy_idx`; the newest launch's when several launches have it."""
    if name is not None:
        rows = record.experiments_named(connection, name)
        if not rows:
            from pbt_tracker.store.selections import experiment_hint

            raise OptionError(f"no experiment named {name} in this workdir{experiment_hint(connection, name)}; "
                              "`pbt-track report` lists the experiments")
        return rows[0]
    from pbt_tracker.pbt.workspace import policy_index

    rows = [row for row in record.experiments_newest_first(connection)
            if policy_index(json.loads(row.params or "{}") or {}, row.cmd) == policy]
    if not rows:
        raise OptionError(f"no experiment has pbt.policy_idx={policy} in this workdir; "
                          "`pbt-track report --pbt` lists the policies")
    newest = [row.name for row in rows if row.launch_id == rows[0].launch_id]
    if len(newest) > 1:
        raise OptionError(f"policy {policy} is {len(newest)} experiments of launch {rows[0].launch_id} "
                          f"({', '.join(newest)}); name one of them")
    return rows[0]


def exit_text(exit_code: int | None, exit_signal: int | None) -> str:
    """sacct's `N:S` when a signal is on record, the bare code otherwise, `-` while unknown."""
    if exit_code is None:
        return "-"
    return f"{exit_code}:{exit_signal}" if exit_signal is not None else str(exit_code)


def skew_text(skew: int | None) -> str:
    """The mark on times the scheduler gave that this host's clock cannot allow (see `evidence.clock_skew`)."""
    if skew is None:
        return ""
    return f"  (times from Slurm's clock, at least {abs(skew)} s {'ahead of' if skew > 0 else 'behind'} this host's)"


def _time(text: str | None) -> str:
    return iso_time(parse_time(text)) or "-"


def array_log(array_argv: str | None, job_id: str | None) -> str | None:
    """Slurm's own log of an array task: the array's --output with %A and %a filled in from `4242_3`."""
    if not array_argv or not job_id or "_" not in job_id:
        return None
    argv = json.loads(array_argv)
    if "--output" not in argv[:-1]:
        return None
    array_job, _, task = job_id.partition("_")
    return argv[argv.index("--output") + 1].replace("%A", array_job).replace("%a", task)


def _attempt_lines(connection: sqlite3.Connection, attempt: record.AttemptDetail) -> list[str]:
    node = attempt.node or "-"
    lines = [f"attempt {attempt.attempt}  job {attempt.job_id or '-'}  {attempt.state}  "
             f"exit {exit_text(attempt.exit_code, attempt.exit_signal)}  node {node}"]
    if attempt.pending_reason:
        lines.append(f"  pending reason  {attempt.pending_reason}")
    lines.append(f"  submitted {_time(attempt.submitted_at)}  started {_time(attempt.started_at)}  "
                 f"ended {_time(attempt.ended_at)}{skew_text(attempt.clock_skew)}")
    if attempt.cancel_requested_at:
        still = f"; Slurm still shows it {attempt.state}" if attempt.state in states.MAY_BE_ACTIVE else ""
        lines.append(f"  cancel requested {_time(attempt.cancel_requested_at)} (scancel accepted it){still}")
    lines.append(f"  script  {attempt.script_path or '-'}")
    lines.append(f"  sbatch  {shlex.join(json.loads(attempt.argv or '[]')) or '-'}")
    lines.append(f"  log     {log_file(attempt.log_path, attempt.job_id) or '-'}")
    slurm_log = array_log(attempt.array_argv, attempt.job_id)
    if slurm_log:
        lines.append(f"  array log  {slurm_log}")
    stderr = (attempt.submit_stderr or "").strip()
    if stderr:
        lines.append(f"  sbatch stderr  {' | '.join(stderr.splitlines())}")
    lines.append("  states")
    for change in record.state_changes(connection, attempt.id):
        detail = f"  {change.detail}" if change.detail else ""
        lines.append(f"    {_time(change.observed_at)}  {change.state}{detail}")
    return lines


def describe(store: Store, name: str | None, policy: int | None) -> str:
    """The experiment's whole history as text."""
    with store.read() as connection:
        experiment = find_experiment(connection, name, policy)
        attempts = record.attempts(connection, experiment.id)
        lines = [f"{experiment.name}  run {experiment.run_name}  launch {experiment.launch_id}  "
                 f"backend {experiment.backend}",
                 f"command  {experiment.cmd}"]
        progress = pbt_progress([], experiment.params, experiment.cmd, experiment.train_dir, experiment.cwd,
                                experiment.id)
        if progress.get("pbt_policy") is not None:
            from pbt_tracker.pbt.lives import over_text, started_over

            lines.append(_progress_line(progress))
            lines += [f"  started over: {over_text(experiment.name, over)}"
                      for over in started_over(connection, [experiment.id])]
        for attempt in attempts:
            lines += ["", *_attempt_lines(connection, attempt)]
        job_ids = [attempt.job_id for attempt in attempts if attempt.job_id]
        cancels = record.cancellations_naming(connection, job_ids, [experiment.name, experiment.base_name])
    if progress.get("pbt_policy") is not None:
        from pbt_tracker.report.decisions import decision_lines

        lines += decision_lines(store, experiment.id)
    if cancels:
        lines += ["", "cancellations"]
        for cancel in cancels:
            argv = shlex.join(json.loads(cancel.argv or "[]")) or "(no scancel)"
            code = "-" if cancel.returncode is None else cancel.returncode
            lines.append(f"  {_time(cancel.requested_at)}  {argv}  (exit {code})")
    return "\n".join(lines) + "\n"


def _progress_line(progress: PbtProgress) -> str:
    def number(value: object) -> str:
        return "-" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)

    if "pbt_iteration" not in progress:
        return f"PBT policy {progress['pbt_policy']}: no workspace found yet"
    return (f"PBT policy {progress['pbt_policy']}: iteration {number(progress['pbt_iteration'])}, "
            f"objective {number(progress['pbt_objective'])}, best {number(progress['pbt_best_objective'])}")
