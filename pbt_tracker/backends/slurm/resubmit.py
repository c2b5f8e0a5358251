"""Resubmitting failed Slurm attempts: each one's recorded script again, or a PBT policy's continuation script.

A script changed on disk since it was recorded is refused unless the user
accepts it as it is now; a script missing on disk is written again from the
record before sbatch reads it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import sqlite3
from pathlib import Path

from pbt_tracker import states
from pbt_tracker.backends.resubmission import ResubmitRequest, ResubmitResult, check_launch_directory, decide
from pbt_tracker.backends.slurm import commands as slurm
from pbt_tracker.backends.slurm.answers import Answers, send_array
from pbt_tracker.backends.slurm.continuation import (
    is_continuation_script,
    record_continuation,
    run_from,
)
from pbt_tracker.backends.slurm.resources import AttemptSetup, attempt_setup
from pbt_tracker.backends.slurm.resubmit_arrays import ArrayLaunch, PlannedArray, PlannedScript, as_arrays
from pbt_tracker.backends.slurm.tags import submission_tag, with_tag
from pbt_tracker.errors import OptionError
from pbt_tracker.files import make_dirs, share_with_group, write_text_atomic
from pbt_tracker.launch.environment import as_launched
from pbt_tracker.launch.record import launched_group_readable, sha256_text
from pbt_tracker.pbt.resume import ResumeDecision
from pbt_tracker.pbt.starts import note_outcome
from pbt_tracker.store import Store, utcnow, writes
from pbt_tracker.store.new_rows import NewScript, NewSubmission, insert
from pbt_tracker.store.next_attempts import PriorAttempt


class ScriptResubmitter:
    def __init__(self, store: Store, request: ResubmitRequest, result: ResubmitResult) -> None:
        self.store, self.request, self.result = store, request, result
        self.planned: list[PlannedScript] = []
        self.arrays: list[PlannedArray] = []
        self.changed: list[str] = []  # scripts changed on disk, refused at close

    def plan(self, connection: sqlite3.Connection, row: PriorAttempt, attempt: int) -> None:
        workdir, name = self.store.workdir, row.name
        decision = decide(connection, row, self.request, self.result)
        if row.script_id is None:
            return
        check_not_moved(Path(row.launch_workdir), workdir)
        check_launch_directory(name, row.cwd)
        setup = attempt_setup(row, self.request.options)
        if (decision is not None and (decision.continues or is_continuation_script(workdir, row.script_path))) or (
                setup is not None and self.request.options):  # changed resources: a new script from the template
            self.result.planned.append((name, attempt))
            if not self.request.dry_run:
                self.planned.append(self._continuation(connection, row, attempt, decision, setup))
            return
        script_id, script_path, script_text = row.script_id, row.script_path, row.script_text
        assert script_path is not None and script_text is not None  # its script_id names a script row
        on_disk = _read(Path(script_path))
        if on_disk is not None and hashlib.sha256(on_disk).hexdigest() != row.script_sha256:
            if not self.request.accept_changed:
                self.changed.append(script_path)
                return
            script_text = on_disk.decode("utf-8", errors="replace")
            script_id = insert(connection, NewScript(
                experiment_id=row.experiment_id, path=script_path, text=script_text,
                sha256=sha256_text(script_text), created_at=utcnow(),
            ))
        self.result.planned.append((name, attempt))
        if self.request.dry_run:
            return
        me, now, argv = self.request.me, utcnow(), run_from(json.loads(row.argv), row.cwd, script_text)
        submission_id = insert(connection, NewSubmission(
            experiment_id=row.experiment_id, script_id=script_id, attempt=attempt, argv=argv,
            log_path=row.log_path, state=states.SUBMITTING, intended_at=now, updated_at=now, host=me.host,
            runner_pid=me.pid, runner_start=me.start, origin=self.request.origin, parent_submission_id=row.id,
            options=setup.options if setup else None,  # inherited: the script and argv sent again carry them
        ))
        writes.add_state_change(connection, submission_id, states.SUBMITTING, now, self.request.origin)
        if decision is not None:
            note_outcome(connection, decision.pending, submission_id, now)
        tagged = argv
        if row.uuid:
            tagged = with_tag(argv, submission_tag(row.uuid, submission_id))
            writes.set_argv(connection, submission_id, tagged)
        array_launch = None
        if row.array_id is not None and row.uuid:
            limit = json.loads(row.options).get("slurm_array_limit")
            array_launch = ArrayLaunch(row.launch_id, row.uuid, limit)
        self.planned.append(PlannedScript(
            submission_id, name, attempt, tagged, Path(script_path), script_text, argv, array_launch,
            row.log_path or "", environment=launch_environment(row),
            group_readable=launched_group_readable(row.options),
        ))

    def close(self, connection: sqlite3.Connection) -> None:
        if self.changed:
            raise OptionError(
                f"{len(self.changed)} script(s) changed on disk since they were recorded: {', '.join(self.changed)}; "
                "restore them, or pass --accept-changed to submit them as they are now"
            )
        self.planned, self.arrays = as_arrays(connection, self.store.workdir, self.planned)

    def send(self) -> None:
        """The arrays, then each attempt alone; a script missing on disk is written from the record first."""
        store, result, echo = self.store, self.result, self.request.echo
        for array in self.arrays:
            share_with_group(array.group_readable)
            missing = [path for path, _text in array.files[:-1] if not path.exists()]
            result.jobs += send_array(store, array.array_id, array.argv, array.names, array.files, echo,
                                      env=array.environment)
            result.rewritten += [str(path) for path in missing if path.exists()]
        answers = Answers(store, echo)
        try:
            for job in self.planned:
                share_with_group(job.group_readable)  # the script, and Slurm's log once the job id is known
                if job.new_script or not job.script_path.exists():
                    try:
                        if job.new_script:
                            make_dirs(job.script_path.parent)
                        write_text_atomic(job.script_path, job.script_text)
                        if not job.new_script:
                            result.rewritten.append(str(job.script_path))
                    except OSError as error:
                        verb = "write" if job.new_script else "rewrite"
                        message = f"cannot {verb} {job.script_path}: {error.strerror}"
                        result.jobs.append(answers.failed(job.submission_id, job.experiment, job.argv, message))
                        continue
                result.jobs.append(answers.add(job.submission_id, job.experiment, job.argv,
                                               slurm.submit(job.argv, env=job.environment)))
        finally:
            answers.flush()

    def _continuation(self, connection: sqlite3.Connection, row: PriorAttempt, attempt: int,
                      decision: ResumeDecision | None, setup: AttemptSetup | None) -> PlannedScript:
        recorded = record_continuation(connection, self.store.workdir, row, attempt, decision, self.request.me,
                                       origin=self.request.origin, setup=setup)
        return PlannedScript(recorded.submission_id, row.name, attempt, recorded.argv, recorded.script_path,
                             recorded.script_text, recorded.own_argv, None, recorded.log_path, new_script=True,
                             environment=launch_environment(row), group_readable=launched_group_readable(row.options))


def check_not_moved(recorded: Path, workdir: Path) -> None:
    """A Slurm attempt names its script and log by the paths of the workdir it was launched from.

    Sent from a workdir moved elsewhere, every one would fail and use up an
    attempt, so the resubmit is refused before any attempt is recorded.
    """
    if recorded != workdir and not recorded.is_dir():
        raise OptionError(
            f"this record was written in {recorded}, which no longer exists (the workdir was moved to {workdir}), "
            f"and its sbatch commands name files there; move the workdir back, or link it there "
            f"(ln -s {shlex.quote(str(workdir))} {shlex.quote(str(recorded))}), then run resubmit-failed again"
        )


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def launch_environment(row: PriorAttempt) -> dict[str, str] | None:
    """The environment sbatch runs with, so that the job gets its launch's software whoever sends it."""
    return as_launched(json.loads(row.options or "{}").get("environment"), os.environ)
