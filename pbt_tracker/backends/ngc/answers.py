"""What the ngc CLI prints, read: the job id `ngc batch run` gives, a job's status, a kill's answer.

Pure functions on text, each fed literal outputs in tests/test_ngc_answers.py.
The CLI prints JSON with `--format_type json` (pbt-track asks for it on the
commands it composes itself: info, list) and a labelled table otherwise (a
user's job template may ask for either): a run's table carries an `Id: N`
line under "Job Information", an info's a `Status: NAME` line under "Job
Status". A status is evidence about a job only when the answer names that
job's id: anything else (an error, an unknown status, another job) is no answer.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any, NamedTuple

from pbt_tracker import states

# NGC's job statuses, as the CLI prints them, onto pbt-track's states (Slurm's names).
STATUS_STATES = {
    "CREATED": states.PENDING,
    "QUEUED": states.PENDING,
    "STARTING": states.PENDING,
    "PENDING_STORAGE_CREATION": states.PENDING,
    "REQUESTING_RESOURCE": states.PENDING,
    "RESOURCE_GRANTED": states.PENDING,
    "RESOURCE_CONSUMPTION_REQUEST_IN_PROGRESS": states.PENDING,
    "RUNNING": states.RUNNING,
    "PENDING_TERMINATION": states.COMPLETING,
    # A preempted NGC job is resumed (or restarted) under the same id: it waits, as a requeued Slurm job does.
    "PREEMPTED": states.REQUEUED,
    "PREEMPTED_BY_ADMIN": states.REQUEUED,
    "FINISHED_SUCCESS": states.COMPLETED,
    "FAILED": states.FAILED,
    "KILLED_BY_SYSTEM": states.FAILED,
    "RESOURCE_GRANT_DENIED": states.FAILED,
    "RESOURCE_LIMIT_EXCEEDED": states.FAILED,
    "INFINITY_POOL_MISSING": states.FAILED,
    "IM_INTERNAL_ERROR": states.FAILED,
    "FAILED_RUN_LIMIT_EXCEEDED": states.TIMEOUT,
    "TASK_LOST": states.NODE_FAIL,
    "KILLED_BY_USER": states.CANCELLED,
    "KILLED_BY_ADMIN": states.CANCELLED,
    "CANCELED": states.CANCELLED,
}
"""UNKNOWN and RESOURCE_RELEASED say nothing about how the run went: they change no state."""

_TEXT_ID = re.compile(r"^\s*Id:\s*(\d+)\s*$", re.MULTILINE)
_TEXT_STATUS = re.compile(r"^\s*Status:\s*([A-Z_]+)\s*$", re.MULTILINE)
_KILLED = re.compile(r"Submitted job kill request for Job ID: '(\d+)'")
_NOT_KILLED = re.compile(r"Killing of job ID: '(\d+)' failed: (.*)")


class NgcJob(NamedTuple):
    """One job as an answer showed it: its NGC status, the state it means, and its times where given."""

    job_id: str
    status: str
    state: str | None  # None: a status that proves nothing about the run
    started_at: datetime | None = None
    ended_at: datetime | None = None


class KillAnswer(NamedTuple):
    accepted: list[str]
    refused: dict[str, str]  # job id -> ngc's reason


def run_job_id(stdout: str) -> str | None:
    """The id of the job `ngc batch run` created, from its JSON or its table; None where it shows none."""
    document = _json(stdout)
    if document is not None:
        job = _job_of(document)
        return _id_text(job.get("id")) if job is not None else None
    match = _TEXT_ID.search(stdout)
    return match.group(1) if match else None


def info_job(stdout: str, job_id: str) -> NgcJob | None:
    """What `ngc batch info ID` says of that job; None unless the answer names it and shows a status."""
    document = _json(stdout)
    if document is not None:
        job = _job_of(document)
        return _job(job) if job is not None and _id_text(job.get("id")) == job_id else None
    ids, found = _TEXT_ID.findall(stdout), _TEXT_STATUS.search(stdout)
    if ids[:1] != [job_id] or found is None:
        return None
    return NgcJob(job_id, found.group(1), STATUS_STATES.get(found.group(1)))


def listed_jobs(stdout: str) -> dict[str, NgcJob]:
    """The jobs `ngc batch list --format_type json` shows, by id; a job it leaves out is no evidence of anything."""
    document = _json(stdout)
    if not isinstance(document, list):
        return {}
    jobs = (_job(entry) for entry in document if isinstance(entry, dict))
    return {job.job_id: job for job in jobs if job is not None}


def kill_answer(stdout: str, stderr: str) -> KillAnswer:
    """Which jobs ngc took a kill request for, and why it refused the others: it exits 0 either way."""
    text = f"{stdout}\n{stderr}"
    refused = {match.group(1): match.group(2).strip() for match in _NOT_KILLED.finditer(text)}
    accepted = [job_id for job_id in dict.fromkeys(_KILLED.findall(text)) if job_id not in refused]
    return KillAnswer(accepted, refused)


def _json(text: str) -> Any:
    stripped = text.strip()
    if not stripped.startswith(("{", "[")):
        return None
    try:
        return json.loads(stripped)
    except ValueError:
        return None


def _job_of(document: Any) -> dict[str, Any] | None:
    """The job of a run's or an info's JSON: under "job" (the CLI's form), or the document itself."""
    if not isinstance(document, dict):
        return None
    job = document.get("job", document)
    return job if isinstance(job, dict) else None


def _job(job: dict[str, Any]) -> NgcJob | None:
    job_id, status = _id_text(job.get("id")), job.get("jobStatus")
    if job_id is None or not isinstance(status, dict) or not isinstance(status.get("status"), str):
        return None
    name = status["status"]
    return NgcJob(job_id, name, STATUS_STATES.get(name), _time(status.get("startedAt")), _time(status.get("endedAt")))


def _id_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return str(value)
    return None


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment
