"""Submitting failed experiments again, each as its next attempt, exactly once.

The next attempt is written (as SUBMITTING) in the same write transaction
that finds the failed ones, so a second resubmit, even one running at the
same time, sees that attempt as the latest and leaves the experiment alone.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pbt_tracker import processes, slurm, states
from pbt_tracker.errors import OptionError
from pbt_tracker.files import write_text_atomic
from pbt_tracker.sbatch_script import (
    ArrayTask,
    array_argv_from,
    array_chunks,
    array_log_path,
    array_script_path,
    array_spec,
    array_tag,
    render_array_script,
    sbatch_directives,
    sbatch_options,
    submission_tag,
    with_tag,
)
from pbt_tracker.store import Store
from pbt_tracker.store.models import Launch, Script, SlurmArray, StateChange, Submission, utcnow
from pbt_tracker.tracker.local import LocalJob, LocalOutcome, Runner, local_attempt, local_job
from pbt_tracker.tracker.record import (
    Answers,
    Echo,
    SubmittedJob,
    quiet,
    send_array,
    sha256_text,
)
from pbt_tracker.tracker.selection import Selection, check_names_exist, selected_rows

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


@dataclass(frozen=True)
class _Planned:
    submission_id: int
    experiment: str
    attempt: int
    argv: list[str]
    script_path: Path
    script_text: str
    own_argv: list[str] = field(default_factory=list)  # before its tag
    array_launch: Launch | None = None  # set when it failed as a task of an array of this launch


@dataclass(frozen=True)
class _PlannedArray:
    array_id: int
    argv: list[str]
    names: list[str]
    files: list[tuple[Path, str]]  # the tasks' scripts, then the array's own


@dataclass
class ResubmitResult:
    dry_run: bool
    planned: list[tuple[str, int]] = field(default_factory=list)  # (experiment, attempt)
    jobs: list[SubmittedJob] = field(default_factory=list)
    rewritten: list[str] = field(default_factory=list)
    skipped_max_attempts: list[str] = field(default_factory=list)
    local_outcomes: list[LocalOutcome] = field(default_factory=list)
    interrupted: bool = False

    @property
    def failed(self) -> list[str]:
        """Experiments whose new attempt did not go out, or (local ones) did not complete."""
        return [job.experiment for job in self.jobs if job.error] + [
            outcome.experiment for outcome in self.local_outcomes if outcome.state != states.COMPLETED
        ]

    @property
    def attempted(self) -> int:
        return len(self.jobs) + len(self.local_outcomes)


def resubmit_failed(
    store: Store,
    selection: Selection,
    *,
    include_cancelled: bool = False,
    max_attempts: int | None = None,
    accept_changed: bool = False,
    dry_run: bool = False,
    echo: Echo = quiet,
) -> ResubmitResult:
    if max_attempts is not None and max_attempts < 1:
        raise OptionError(f"--max-attempts must be 1 or more, not {max_attempts}")
    wanted = RESUBMITTABLE | ({states.CANCELLED} if include_cancelled else set())
    query = Selection(
        run=selection.run,
        experiments=selection.experiments,
        states=tuple(sorted(wanted)),
    )
    result = ResubmitResult(dry_run)
    planned: list[_Planned] = []
    arrays: list[_PlannedArray] = []
    attempts: dict[int, Submission] = {}
    local: dict[int, tuple[dict, list[LocalJob]]] = {}
    with store.transaction() as session:
        check_names_exist(session, selection)
        rows = session.execute(selected_rows(query)).all()
        if not dry_run and any(launch.backend == "slurm" for _s, _e, launch, _sc in rows):
            slurm.require_command("sbatch")
        changed = []
        me = processes.this_process()
        for submission, experiment, launch, script in rows:
            if max_attempts is not None and submission.attempt >= max_attempts:
                result.skipped_max_attempts.append(experiment.name)
                continue
            if launch.backend == "processes":
                result.planned.append((experiment.name, submission.attempt + 1))
                if not dry_run:
                    attempt = local_attempt(experiment, submission.attempt + 1, list(submission.argv), store.workdir, me)
                    session.add(attempt)
                    session.flush()
                    local.setdefault(launch.id, (dict(launch.options), []))[1].append(
                        local_job(store.workdir, experiment, attempt)
                    )
                continue
            if script is None:
                continue
            on_disk = _read(Path(script.path))
            if on_disk is not None and hashlib.sha256(on_disk).hexdigest() != script.sha256:
                if not accept_changed:
                    changed.append(script.path)
                    continue
                text = on_disk.decode("utf-8", errors="replace")
                script = Script(experiment=experiment, path=script.path, text=text, sha256=sha256_text(text))
                session.add(script)
            result.planned.append((experiment.name, submission.attempt + 1))
            if dry_run:
                continue
            now = utcnow()
            attempt = Submission(
                experiment=experiment,
                script=script,
                attempt=submission.attempt + 1,
                argv=list(submission.argv),
                log_path=submission.log_path,
                state=states.SUBMITTING,
                intended_at=now,
                updated_at=now,
                host=me.host,
                runner_pid=me.pid,
                runner_start=me.start,
            )
            attempt.state_changes.append(StateChange(state=states.SUBMITTING, observed_at=now, detail="resubmit"))
            session.add(attempt)
            session.flush()
            own_argv = list(attempt.argv)
            if launch.uuid:
                attempt.argv = with_tag(attempt.argv, submission_tag(launch.uuid, attempt.id))
            attempts[attempt.id] = attempt
            planned.append(_Planned(
                attempt.id, experiment.name, attempt.attempt, attempt.argv, Path(script.path), script.text, own_argv,
                launch if submission.array_id is not None and launch.uuid else None,
            ))
        if changed:
            raise OptionError(
                f"{len(changed)} script(s) changed on disk since they were recorded: {', '.join(changed)}; "
                "restore them, or pass --accept-changed to submit them as they are now"
            )
        planned, arrays = _as_arrays(session, store.workdir, planned, attempts)
    for options, jobs in local.values():
        runner = Runner(
            store, jobs, int(options.get("max_parallel") or 4), int(options.get("num_gpus") or 1),
            int(options.get("experiments_per_gpu") or -1), 0, echo,
        )
        outcomes, interrupted = runner.run()
        result.local_outcomes += outcomes
        result.interrupted = result.interrupted or interrupted
    for array in arrays:
        missing = [path for path, _text in array.files[:-1] if not path.exists()]
        result.jobs += send_array(store, array.array_id, array.argv, array.names, array.files, echo)
        result.rewritten += [str(path) for path in missing if path.exists()]
    answers = Answers(store, echo)
    try:
        for job in planned:
            if not job.script_path.exists():
                try:
                    write_text_atomic(job.script_path, job.script_text)
                    result.rewritten.append(str(job.script_path))
                except OSError as error:
                    message = f"cannot rewrite {job.script_path}: {error.strerror}"
                    result.jobs.append(answers.failed(job.submission_id, job.experiment, job.argv, message))
                    continue
            result.jobs.append(answers.add(job.submission_id, job.experiment, job.argv, slurm.submit(job.argv)))
    finally:
        answers.flush()
    return result


def _as_arrays(
    session: Session, workdir: Path, planned: list[_Planned], attempts: dict[int, Submission]
) -> tuple[list[_Planned], list[_PlannedArray]]:
    """Failed tasks of an array go out again as an array, with the launch's %N limit, split at MaxArraySize.

    Tasks are grouped by launch, by their scripts' #SBATCH lines and by their
    sbatch options; a task alone in its group goes out as a job of its own.
    """
    groups: dict[tuple[int, tuple[str, ...], tuple[str, ...]], list[_Planned]] = {}
    launches: dict[int, Launch] = {}
    alone = []
    for job in planned:
        options = sbatch_options(job.own_argv)
        if job.array_launch is None or options is None:
            alone.append(job)
            continue
        launches[job.array_launch.id] = job.array_launch
        groups.setdefault((job.array_launch.id, sbatch_directives(job.script_text), tuple(options)), []).append(job)
    arrays: list[_PlannedArray] = []
    limit = None
    for (launch_id, _directives, options), members in groups.items():
        if len(members) < 2:
            alone += members
            continue
        limit = limit or slurm.max_array_size()
        for chunk in array_chunks(len(members), limit):
            arrays.append(_record_array(session, workdir, launches[launch_id], list(options),
                                        [members[index] for index in chunk], attempts))
    return alone, arrays


def _record_array(
    session: Session, workdir: Path, launch: Launch, options: list[str], members: list[_Planned],
    attempts: dict[int, Submission],
) -> _PlannedArray:
    number = session.scalar(select(func.count()).select_from(SlurmArray).where(SlurmArray.launch_id == launch.id))
    path = array_script_path(workdir, launch.uuid or "", number or 0)
    log = array_log_path(workdir, path)
    tasks = [ArrayTask(job.script_path, job.script_text, attempts[job.submission_id].log_path or "")
             for job in members]
    text = render_array_script(sbatch_directives(members[0].script_text), tasks)
    spec = array_spec(len(members), launch.options.get("slurm_array_limit"))
    argv = array_argv_from(options, path, log, spec)
    array = SlurmArray(launch_id=launch.id, path=str(path), text=text, sha256=sha256_text(text), argv=argv,
                       task_count=len(members), intended_at=utcnow())
    session.add(array)
    session.flush()
    array.argv = with_tag(array.argv, array_tag(launch.uuid or "", array.id))
    for task, job in enumerate(members):
        attempt = attempts[job.submission_id]
        attempt.argv = job.own_argv
        attempt.array_id = array.id
        attempt.array_task = task
    return _PlannedArray(array.id, array.argv, [job.experiment for job in members],
                         [*((job.script_path, job.script_text) for job in members), (path, text)])


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
