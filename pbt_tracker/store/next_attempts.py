"""What an experiment's next attempt is made from: resubmit-failed's, a preview's, a job's own continuation.

Each reads the attempt it follows with its experiment, launch and script,
and what of the same names may still run, since a second copy of a running
PBT policy would write to the same workspace.
"""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, NamedTuple

from pbt_tracker import states
from pbt_tracker.store.selections import column_list, marks, selected_as

if TYPE_CHECKING:
    from pbt_tracker.store.selection import Selection

__all__ = [
    "Continuation", "LiveSubmission", "PreviewAttempt", "PriorAttempt", "continuation_of", "live_submissions",
    "preview_attempts", "prior_attempts",
]


class PriorAttempt(NamedTuple):
    """An attempt that a next one follows; JSON columns (argv, env_vars, options, params) as the record holds them."""

    id: int  # the submission's
    attempt: int
    argv: str
    log_path: str | None
    array_id: int | None
    script_id: int | None
    experiment_id: int
    name: str
    env_vars: str | None
    train_dir: str
    launch_id: int
    backend: str
    uuid: str | None
    options: str
    launch_workdir: str
    script_path: str | None
    script_text: str | None
    script_sha256: str | None
    cmd: str
    params: str
    cwd: str | None
    template_text: str | None
    template_path: str | None
    attempt_options: str | None  # JSON: what this attempt changed of its launch's options, None for nothing


_PRIOR_ATTEMPT = column_list(
    PriorAttempt._fields, id="s.id", attempt="s.attempt", argv="s.argv", log_path="s.log_path",
    array_id="s.array_id", script_id="s.script_id", experiment_id="e.id", name="e.name", env_vars="e.env_vars",
    train_dir="e.train_dir", launch_id="l.id", backend="l.backend", uuid="l.uuid", options="l.options",
    launch_workdir="l.workdir", script_path="sc.path", script_text="sc.text", script_sha256="sc.sha256",
    cmd="e.cmd", params="e.params", cwd="l.cwd", template_text="l.template_text", template_path="l.template_path",
    attempt_options="s.options",
)


def prior_attempts(connection: sqlite3.Connection, selection: Selection) -> list[PriorAttempt]:
    return selected_as(connection, selection, _PRIOR_ATTEMPT, PriorAttempt)


class PreviewAttempt(NamedTuple):
    """An attempt a preview recorded (PRINT_ONLY while nobody submitted it), with its script as shown."""

    attempt: int
    state: str
    argv: str  # JSON
    log_path: str | None
    array_id: int | None
    array_task: int | None
    script_id: int | None
    experiment_id: int
    name: str
    script_path: str
    script_text: str
    script_sha256: str


_PREVIEW_ATTEMPT = column_list(
    PreviewAttempt._fields, attempt="s.attempt", state="s.state", argv="s.argv", log_path="s.log_path",
    array_id="s.array_id", array_task="s.array_task", script_id="s.script_id", experiment_id="e.id", name="e.name",
    script_path="sc.path", script_text="sc.text", script_sha256="sc.sha256",
)


def preview_attempts(connection: sqlite3.Connection, selection: Selection) -> list[PreviewAttempt]:
    return selected_as(connection, selection, _PREVIEW_ATTEMPT, PreviewAttempt)


class LiveSubmission(NamedTuple):
    job_id: str | None  # None while its submission has no job id yet
    launch_id: int


def live_submissions(connection: sqlite3.Connection, names: list[str],
                     sent_anyway: frozenset[str] = frozenset()) -> dict[str, LiveSubmission]:
    """For each of these experiment names, a submission of any launch that may still run; it blocks sending the name.

    A submission in a state of `sent_anyway` (SUBMIT_UNCERTAIN, when the user says so) blocks nothing.
    """
    active = sorted(states.MAY_BE_ACTIVE - sent_anyway)
    rows = connection.execute(
        "SELECT e.name, s.job_id, e.launch_id FROM submissions AS s JOIN experiments AS e ON e.id = s.experiment_id "
        f"WHERE e.name IN (SELECT value FROM json_each(?)) AND s.state IN ({marks(active)}) ORDER BY s.id",
        (json.dumps(names), *active),
    ).fetchall()
    return {name: LiveSubmission(job_id, launch_id) for name, job_id, launch_id in rows}


class Continuation(NamedTuple):
    id: int
    attempt: int
    job_id: str | None
    state: str


def continuation_of(connection: sqlite3.Connection, submission_id: int) -> Continuation | None:
    """The attempt a job already asked for (origin 'continue', this one its parent), if any: a job asks once."""
    row = connection.execute(
        f"SELECT {', '.join(Continuation._fields)} FROM submissions WHERE parent_submission_id = ? "
        "AND origin = 'continue' ORDER BY id DESC LIMIT 1",
        (submission_id,),
    ).fetchone()
    return None if row is None else Continuation._make(row)
