"""Submitting a preview (`--slurm_print_only true`) exactly as it was shown.

What a preview recorded (each experiment's script, sbatch command, log and
array) is what goes out, as the next attempt of those experiments, so what
was reviewed is what runs. Nothing is rendered again: a script changed on disk
since the preview is refused, one that is gone is written back from the record.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from pbt_tracker import backends, processes, states
from pbt_tracker.backends.slurm import commands as slurm
from pbt_tracker.backends.slurm.answers import Answers, send_array
from pbt_tracker.backends.slurm.launch import LaunchResult
from pbt_tracker.backends.slurm.scancel_sh import write_scancel_script
from pbt_tracker.backends.slurm.tags import array_tag, submission_tag, with_tag
from pbt_tracker.errors import OptionError
from pbt_tracker.files import write_text_atomic
from pbt_tracker.launch.record import Echo, SubmittedJob, quiet
from pbt_tracker.store import Store, launches, utcnow, writes
from pbt_tracker.store.launches import Launch
from pbt_tracker.store.new_rows import NewSlurmArray, NewSubmission, insert
from pbt_tracker.store.next_attempts import LiveSubmission, PreviewAttempt, live_submissions, preview_attempts
from pbt_tracker.store.selection import Selection


@dataclass(frozen=True)
class _Job:
    submission_id: int
    name: str
    argv: list[str]
    script_path: Path
    script_text: str


def submit_preview(store: Store, launch_id: int, echo: Echo = quiet) -> LaunchResult:
    """Submit launch `launch_id`'s recorded scripts; refused unless it is an untouched preview."""
    with store.write() as connection:
        rows = preview_attempts(connection, Selection(launch=launch_id, all_launches=True))
        launch = _check(launch_id, launches.launch(connection, launch_id), rows,
                        live_submissions(connection, [row.name for row in rows]))
        slurm.require_command("sbatch")
        pause = float(json.loads(launch.options or "{}").get("pause_between") or 0)
        singles, arrays = _record(connection, launch.uuid, rows)
    jobs: dict[str, SubmittedJob] = {}
    for array_id, argv, members in arrays:
        files = [(job.script_path, job.script_text) for job in members]
        array = _array_file(store, array_id)
        jobs.update(zip((job.name for job in members),
                        send_array(store, array_id, argv, [job.name for job in members], [*files, array], echo)))
    answers = Answers(store, echo)
    try:
        for index, job in enumerate(singles):
            echo(f"Executing {shlex.join(job.argv)}")
            try:
                if not job.script_path.exists():
                    write_text_atomic(job.script_path, job.script_text)
            except OSError as error:
                jobs[job.name] = answers.failed(job.submission_id, job.name, job.argv,
                                                f"cannot write {job.script_path}: {error.strerror}")
                continue
            jobs[job.name] = answers.add(job.submission_id, job.name, job.argv, slurm.submit(job.argv))
            if pause > 0 and index + 1 < len(singles):
                answers.flush()
                time.sleep(pause)
    finally:
        answers.flush()
    write_scancel_script(store)
    return LaunchResult(launch_id, store.workdir, store.path, False, [jobs[row.name] for row in rows])


def _check(launch_id: int, launch: Launch | None, rows: list[PreviewAttempt],
           live: dict[str, LiveSubmission]) -> Launch:
    """The launch, once it is found to be an untouched preview whose experiments nothing else runs."""
    if launch is None:
        raise OptionError(f"no launch {launch_id} in this workdir; `pbt-track launches` lists them")
    if launch.forgotten_at is not None:
        raise OptionError(f"launch {launch_id} is forgotten; launch the run again instead")
    if not launch.print_only or not backends.get(launch.backend).runs_sbatch_scripts:
        raise OptionError(f"launch {launch_id} is not a preview (--slurm_print_only true); "
                          f"`pbt-track resubmit-failed --launch {launch_id}` runs its failed experiments again")
    if any(row.state != states.PRINT_ONLY for row in rows):
        raise OptionError(f"launch {launch_id} was already submitted; `pbt-track report --launch {launch_id}` "
                          "shows its jobs")
    for name, running in live.items():
        what = f"job {running.job_id}" if running.job_id else "a submission"
        raise OptionError(f"{name} may still run as {what} of launch {running.launch_id}; cancel it first, "
                          "or leave this preview")
    changed = [row.script_path for row in rows if _changed(Path(row.script_path), row.script_sha256)]
    if changed:
        raise OptionError(f"{len(changed)} script(s) changed on disk since the preview: {', '.join(changed)}; "
                          "restore them, or launch the run again")
    return launch


def _changed(path: Path, sha256: str) -> bool:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() != sha256
    except FileNotFoundError:
        return False


def _record(connection: sqlite3.Connection, uuid: str, rows: list[PreviewAttempt],
            ) -> tuple[list[_Job], list[tuple[int, list[str], list[_Job]]]]:
    """Every new attempt (and a fresh row for each array the preview had), tagged, in one transaction."""
    now = utcnow()
    me = processes.this_process()
    singles: list[_Job] = []
    arrays: dict[int, tuple[int, list[str], list[_Job]]] = {}
    for row in rows:
        array_id = None
        if row.array_id is not None:
            if row.array_id not in arrays:
                shown = launches.slurm_array(connection, row.array_id)
                new_id = insert(connection, NewSlurmArray(
                    launch_id=shown.launch_id, path=shown.path, text=shown.text, sha256=shown.sha256,
                    argv=json.loads(shown.argv), task_count=shown.task_count, intended_at=now,
                ))
                argv = with_tag(json.loads(shown.argv), array_tag(uuid, new_id))
                writes.set_array_argv(connection, new_id, argv)
                arrays[row.array_id] = (new_id, argv, [])
            array_id = arrays[row.array_id][0]
        argv = json.loads(row.argv)
        submission_id = insert(connection, NewSubmission(
            experiment_id=row.experiment_id, script_id=row.script_id, attempt=row.attempt + 1, argv=argv,
            log_path=row.log_path, state=states.SUBMITTING, intended_at=now, updated_at=now, host=me.host,
            runner_pid=me.pid, runner_start=me.start, array_id=array_id, array_task=row.array_task,
        ))
        writes.add_state_change(connection, submission_id, states.SUBMITTING, now, "preview submitted")
        job = _Job(submission_id, row.name, argv, Path(row.script_path), row.script_text)
        if row.array_id is None:
            tagged = with_tag(argv, submission_tag(uuid, submission_id))
            writes.set_argv(connection, submission_id, tagged)
            singles.append(_Job(submission_id, job.name, tagged, job.script_path, job.script_text))
        else:
            arrays[row.array_id][2].append(job)
    return singles, list(arrays.values())


def _array_file(store: Store, array_id: int) -> tuple[Path, str]:
    with store.read() as connection:
        array = launches.slurm_array(connection, array_id)
    return Path(array.path), array.text
