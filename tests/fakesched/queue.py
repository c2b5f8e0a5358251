"""The fake scheduler: jobs in `<workdir>/fakesched.json`, each with an id, a queue, a state and its times.

A test moves jobs along (`move`), or takes the scheduler down (`set_down`);
pbt-track reaches it only through the facade's hooks. Every call the facade
makes is counted in the file, so that a test can hold a command to the calls
it should make. Times are fixed rather than read from a clock, so that a
report's elapsed column does not depend on when the test runs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pbt_tracker.errors import SchedulerError

FILE_NAME = "fakesched.json"
FIRST_JOB_ID = 9001
STARTED = "2026-01-01T10:00:00"
ENDED = "2026-01-01T10:05:00"
FINAL = ("COMPLETED", "FAILED", "CANCELLED")


def read(workdir: Path) -> dict[str, Any]:
    path = Path(workdir) / FILE_NAME
    if not path.exists():
        return {"next_job_id": FIRST_JOB_ID, "down": False, "calls": {}, "jobs": {}}
    return json.loads(path.read_text())


def write(workdir: Path, data: dict[str, Any]) -> None:
    path = Path(workdir) / FILE_NAME
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(temporary, path)


def _answering(workdir: Path, call: str) -> dict[str, Any]:
    data = read(workdir)
    if data["down"]:
        raise SchedulerError("fakesched did not answer (its queue file says it is down)")
    data["calls"][call] = data["calls"].get(call, 0) + 1
    return data


def submit(workdir: Path, name: str, argv: list[str], queue: str) -> str:
    data = _answering(workdir, "submit")
    job_id = str(data["next_job_id"])
    data["next_job_id"] += 1
    data["jobs"][job_id] = {"name": name, "argv": argv, "queue": queue, "state": "PENDING", "exit_code": None,
                            "started": None, "ended": None}
    write(workdir, data)
    return job_id


def listing(workdir: Path, job_ids: list[str]) -> dict[str, dict[str, Any]]:
    """These jobs as the scheduler has them; one call, however many are asked about."""
    data = _answering(workdir, "list")
    write(workdir, data)
    return {job_id: data["jobs"][job_id] for job_id in job_ids if job_id in data["jobs"]}


def cancel(workdir: Path, job_ids: list[str]) -> tuple[list[str], dict[str, str]]:
    """Jobs that had not ended are CANCELLED; the others are refused, with the reason."""
    data = _answering(workdir, "cancel")
    accepted, refused = [], {}
    for job_id in job_ids:
        job = data["jobs"].get(job_id)
        if job is None or job["state"] in FINAL:
            refused[job_id] = "no such job, or it has ended"
            continue
        job.update(state="CANCELLED", ended=ENDED, started=job["started"] or STARTED)
        accepted.append(job_id)
    write(workdir, data)
    return accepted, refused


# --- what a test does to the scheduler --------------------------------------------------------


def move(workdir: Path, job_id: str, state: str, exit_code: int | None = None) -> None:
    """Move a job as a scheduler would; a job that ends has run from STARTED to ENDED."""
    data = read(workdir)
    job = data["jobs"][job_id]
    job.update(state=state, exit_code=exit_code, started=STARTED if state != "PENDING" else None,
               ended=ENDED if state in FINAL else None)
    write(workdir, data)


def set_down(workdir: Path, down: bool = True) -> None:
    data = read(workdir)
    data["down"] = down
    write(workdir, data)


def calls(workdir: Path) -> dict[str, int]:
    return read(workdir)["calls"]


def state_of(workdir: Path, job_id: str) -> str:
    return read(workdir)["jobs"][job_id]["state"]
