"""The launch record every backend writes: a launches row, its experiments rows, and the small types of an answer.

A backend's launch plans its jobs, then writes these rows in one transaction
before its first submission; what goes into them is the same whatever the
backend, so that `report`, `launches` and resubmission read every launch alike.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pbt_tracker import __version__, processes
from pbt_tracker.errors import OptionError
from pbt_tracker.files import share_with_group
from pbt_tracker.run_description import ExperimentSpec, RunDescription
from pbt_tracker.store import queries, utcnow
from pbt_tracker.store.new_rows import NewExperiment, NewLaunch

Echo = Callable[[str], None]

def quiet(_: str) -> None:
    pass


@dataclass
class SubmittedJob:
    experiment: str
    argv: list[str]
    job_id: str | None
    error: str | None
    uncertain: bool = False  # no job id came back, but the job may exist: the next sync looks for it


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def experiment_values(launch_id: int, position: int, spec: ExperimentSpec) -> NewExperiment:
    """An experiments row of the launch: its spec, with the values JSON cannot hold as text."""
    return NewExperiment(
        launch_id=launch_id,
        position=position,
        name=spec.name,
        base_name=spec.base_name,
        cmd=spec.cmd,
        params=jsonable(spec.params),
        env_vars=jsonable(spec.env_vars) if spec.env_vars is not None else None,
        root_dir=spec.root_dir,
        train_dir=spec.train_dir,
    )


def launch_values(
    workdir: Path,
    run_description: RunDescription,
    *,
    backend: str,
    run_module: str,
    train_dir: str,
    experiment_suffix: str,
    recorded_options: dict[str, Any],
    template_path: str | None,
    template_text: str | None,
    print_only: bool,
    launch_uuid: str | None = None,
) -> NewLaunch:
    """A launches row: what was run, how, from where, and by whom."""
    return NewLaunch(
        run_name=run_description.run_name,
        run_module=run_module,
        backend=backend,
        workdir=str(workdir),
        train_dir=train_dir,
        experiment_suffix=experiment_suffix,
        options=recorded_options,
        template_path=template_path,
        template_text=template_text,
        print_only=print_only,
        hostname=processes.hostname(),
        username=_username(),
        pbt_track_version=__version__,
        created_at=utcnow(),
        cwd=os.getcwd(),
        uuid=launch_uuid or uuid.uuid4().hex,
        group_readable=bool(recorded_options.get("group_readable")),
    )


def jsonable(value: Any) -> Any:
    """Parameter values may be any Python object; the record keeps what JSON can hold."""
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _username() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def refuse_live_experiments(connection: sqlite3.Connection, specs: list[ExperimentSpec]) -> None:
    """Refuse a launch of experiments that may still run in this workdir, as jobs of any launch.

    A second copy of a running PBT policy writes into the same workspace as
    the first, and a report then shows only the newer launch. An experiment is
    the same one when its name and its train dir are: a new --experiment_suffix
    gives it a train dir of its own. Checked inside the launch's own write
    transaction, so that two launches at once cannot both pass it.
    """
    wanted = {(spec.name, spec.train_dir) for spec in specs}
    live: dict[str, queries.LiveExperiment] = {}
    for row in queries.live_experiments(connection, sorted({spec.name for spec in specs})):
        if (row.name, row.train_dir) in wanted:
            live.setdefault(row.name, row)
    if not live:
        return
    shown = [f"{row.name} as {f'job {row.job_id}' if row.job_id else 'a submission'} of launch {row.launch_id}"
             for row in list(live.values())[:3]]
    more = f" and {len(live) - 3} more" if len(live) > 3 else ""
    first = min(row.launch_id for row in live.values())
    raise OptionError(
        f"{len(live)} experiment(s) of this run may still run in this workdir ({', '.join(shown)}{more}); "
        f"cancel them first (`pbt-track cancel --launch {first}`), send only their failed ones again "
        f"(`pbt-track resubmit-failed --launch {first}`), or launch them into new directories with "
        "--experiment_suffix"
    )


def launched_group_readable(options: str | None) -> bool:
    """Whether a launch, by its recorded options, let the group read its files (`--group-readable`)."""
    return bool(json.loads(options or "{}").get("group_readable"))


def share_as_launched(options: str | None) -> None:
    """What this process writes next for a launch's attempt gets the launch's access (`--group-readable`), whoever
    writes it: a resubmission, the keeper, a job's own continuation."""
    share_with_group(launched_group_readable(options))
