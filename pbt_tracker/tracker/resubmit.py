"""Submitting failed experiments again, each as its next attempt, exactly once.

The next attempt is written (as SUBMITTING) in the same write transaction
that finds the failed ones, so a second resubmit, even one running at the
same time, sees that attempt as the latest and leaves the experiment alone.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from pbt_tracker import backends, processes, slurm, states
from pbt_tracker.errors import OptionError
from pbt_tracker.files import make_dirs, write_text_atomic
from pbt_tracker.sbatch_script import (
    array_tag,
    sbatch_directives,
    submission_tag,
    with_tag,
)
from pbt_tracker.sbatch_array import (
    ArrayTask,
    array_argv_from,
    array_chunks,
    array_log_path,
    array_script_path,
    array_spec,
    render_array_script,
    sbatch_options,
)
from pbt_tracker.store import Store, queries, utcnow, writes
from pbt_tracker.tracker.local import LocalExperiment, LocalJob, LocalOutcome, Runner, local_attempt
from pbt_tracker.tracker.record import (
    Answers,
    Echo,
    SubmittedJob,
    quiet,
    send_array,
    sha256_text,
)
from pbt_tracker.tracker.ngc import record_next_attempt
from pbt_tracker.tracker.continuation import is_continuation_script, record_continuation
from pbt_tracker.tracker.resume import ResumeDecision, resume_decision
from pbt_tracker.tracker.selection import Selection

# What the selection reads of each failed experiment's latest attempt.
_COLUMNS = (
    "s.id, s.attempt, s.argv, s.log_path, s.array_id, s.script_id, e.id AS experiment_id, e.name, e.env_vars, "
    "e.train_dir, l.id AS launch_id, l.backend, l.uuid, l.options, l.workdir AS launch_workdir, "
    "sc.path AS script_path, sc.text AS script_text, sc.sha256 AS script_sha256, e.cmd, e.params, l.cwd, "
    "l.template_text, l.template_path"
)

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
    array_launch: _ArrayLaunch | None = None  # set when it failed as a task of an array of this launch
    log_path: str = ""
    new_script: bool = False  # a continuation's, written for the first time


@dataclass(frozen=True)
class _ArrayLaunch:
    id: int
    uuid: str
    array_limit: int | None


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
    decisions: dict[str, ResumeDecision] = field(default_factory=dict)  # PBT policies: what their attempt runs
    jobs: list[SubmittedJob] = field(default_factory=list)
    rewritten: list[str] = field(default_factory=list)
    skipped_max_attempts: list[str] = field(default_factory=list)
    skipped_live: list[tuple[str, str | None, int]] = field(default_factory=list)  # (experiment, job id, launch)
    skipped_older: list[tuple[str, int]] = field(default_factory=list)  # (experiment, launch) another launch resubmits
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
    from_scratch: bool = False,
    echo: Echo = quiet,
) -> ResubmitResult:
    """Each selected failed experiment's next attempt; a PBT policy continues from its latest checkpoint.

    `from_scratch` sends PBT policies their original command instead.
    `result.decisions` says, per PBT policy, what its attempt runs.
    """
    if max_attempts is not None and max_attempts < 1:
        raise OptionError(f"--max-attempts must be 1 or more, not {max_attempts}")
    wanted = RESUBMITTABLE | ({states.CANCELLED} if include_cancelled else set())
    query = Selection(
        run=selection.run,
        experiments=selection.experiments,
        states=tuple(sorted(wanted)),
        launch=selection.launch,
        all_launches=selection.all_launches,
    )
    result = ResubmitResult(dry_run)
    planned: list[_Planned] = []
    arrays: list[_PlannedArray] = []
    local: dict[int, tuple[dict, list[LocalJob]]] = {}
    commands: dict[str, list[tuple[int, str, list[str]]]] = {}  # backend -> recorded commands to send again
    with store.write() as connection:
        queries.check_names_exist(connection, selection)
        rows = _one_per_name(queries.selected(connection, query, _COLUMNS), result)
        live = queries.live_submissions(connection, [row["name"] for row in rows])
        if not dry_run:
            for name in dict.fromkeys(row["backend"] for row in rows):
                backends.get(name).check_available()
        changed = []
        me = processes.this_process()
        for row in rows:
            name, attempt = row["name"], row["attempt"] + 1
            if max_attempts is not None and row["attempt"] >= max_attempts:
                result.skipped_max_attempts.append(name)
                continue
            if name in live:
                result.skipped_live.append((name, *live[name]))
                continue
            how = backends.get(row["backend"]).resubmission
            if how == backends.COMMAND:  # its recorded command, as it was
                result.planned.append((name, attempt))
                if not dry_run:
                    commands.setdefault(row["backend"], []).append(record_next_attempt(connection, row, attempt, me))
                continue
            argv = json.loads(row["argv"])
            decision = resume_decision(row["cmd"], json.loads(row["params"] or "{}") or {}, row["train_dir"],
                                       row["cwd"], from_scratch)
            if decision is not None:
                result.decisions[name] = decision
            if how == backends.LOCAL:
                result.planned.append((name, attempt))
                if not dry_run:
                    if decision is not None:
                        argv = processes.command_argv(decision.command)
                    experiment = LocalExperiment(row["experiment_id"], name, json.loads(row["env_vars"] or "null"),
                                                 row["train_dir"])
                    job = local_attempt(connection, experiment, attempt, argv, store.workdir, me)
                    writes.update(connection, "submissions", job.submission_id,
                                  {"origin": "resubmit", "parent_submission_id": row["id"]})
                    local.setdefault(row["launch_id"], (json.loads(row["options"]), []))[1].append(job)
                continue
            if row["script_id"] is None:
                continue
            check_not_moved(Path(row["launch_workdir"]), store.workdir)
            if decision is not None and (
                decision.continues or is_continuation_script(store.workdir, row["script_path"])
            ):
                result.planned.append((name, attempt))
                if not dry_run:
                    planned.append(_plan_continuation(connection, store.workdir, row, attempt, decision, me))
                continue
            script_id, script_path, script_text = row["script_id"], row["script_path"], row["script_text"]
            on_disk = _read(Path(script_path))
            if on_disk is not None and hashlib.sha256(on_disk).hexdigest() != row["script_sha256"]:
                if not accept_changed:
                    changed.append(script_path)
                    continue
                script_text = on_disk.decode("utf-8", errors="replace")
                script_id = writes.insert(connection, "scripts", {
                    "experiment_id": row["experiment_id"], "path": script_path, "text": script_text,
                    "sha256": sha256_text(script_text), "created_at": utcnow(),
                })
            result.planned.append((name, attempt))
            if dry_run:
                continue
            now = utcnow()
            submission_id = writes.insert(connection, "submissions", {
                "experiment_id": row["experiment_id"], "script_id": script_id, "attempt": attempt, "argv": argv,
                "log_path": row["log_path"], "state": states.SUBMITTING, "intended_at": now, "updated_at": now,
                "host": me.host, "runner_pid": me.pid, "runner_start": me.start, "origin": "resubmit",
                "parent_submission_id": row["id"],
            })
            writes.add_state_change(connection, submission_id, states.SUBMITTING, now, "resubmit")
            tagged = argv
            if row["uuid"]:
                tagged = with_tag(argv, submission_tag(row["uuid"], submission_id))
                writes.update(connection, "submissions", submission_id, {"argv": tagged})
            array_launch = None
            if row["array_id"] is not None and row["uuid"]:
                limit = json.loads(row["options"]).get("slurm_array_limit")
                array_launch = _ArrayLaunch(row["launch_id"], row["uuid"], limit)
            planned.append(_Planned(
                submission_id, name, attempt, tagged, Path(script_path), script_text, argv, array_launch,
                row["log_path"] or "",
            ))
        if changed:
            raise OptionError(
                f"{len(changed)} script(s) changed on disk since they were recorded: {', '.join(changed)}; "
                "restore them, or pass --accept-changed to submit them as they are now"
            )
        planned, arrays = _as_arrays(connection, store.workdir, planned)
    if not dry_run:
        for name, decision in result.decisions.items():
            echo(f"{name}: {decision.message}")
    for options, jobs in local.values():
        runner = Runner(
            store, jobs, int(options.get("max_parallel") or 4), int(options.get("num_gpus") or 1),
            int(options.get("experiments_per_gpu") or -1), 0, echo,
        )
        outcomes, interrupted = runner.run()
        result.local_outcomes += outcomes
        result.interrupted = result.interrupted or interrupted
    for backend, sent in commands.items():
        result.jobs += backends.get(backend).resend(store, sent, echo)
    for array in arrays:
        missing = [path for path, _text in array.files[:-1] if not path.exists()]
        result.jobs += send_array(store, array.array_id, array.argv, array.names, array.files, echo)
        result.rewritten += [str(path) for path in missing if path.exists()]
    answers = Answers(store, echo)
    try:
        for job in planned:
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
            result.jobs.append(answers.add(job.submission_id, job.experiment, job.argv, slurm.submit(job.argv)))
    finally:
        answers.flush()
    return result


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


def _one_per_name(rows: list, result: ResubmitResult) -> list:  # type: ignore[type-arg]
    """Each experiment name once, its newest launch's: two launches' copies of a policy must not both run."""
    newest = {row["name"]: row["launch_id"] for row in rows}  # rows come in launch order
    kept = []
    for row in rows:
        if row["launch_id"] == newest[row["name"]]:
            kept.append(row)
        else:
            result.skipped_older.append((row["name"], row["launch_id"]))
    return kept


def _plan_continuation(connection, workdir: Path, row, attempt: int, decision: ResumeDecision,  # type: ignore[no-untyped-def]
                       me: processes.ProcessId) -> _Planned:
    recorded = record_continuation(connection, workdir, row, attempt, decision, me)
    return _Planned(recorded.submission_id, row["name"], attempt, recorded.argv, recorded.script_path,
                    recorded.script_text, recorded.own_argv, None, recorded.log_path, new_script=True)


def _as_arrays(connection, workdir: Path, planned: list[_Planned]) -> tuple[list[_Planned], list[_PlannedArray]]:  # type: ignore[no-untyped-def]
    """Failed tasks of an array go out again as an array, with the launch's %N limit, split at MaxArraySize.

    Tasks are grouped by launch, by their scripts' #SBATCH lines and by their
    sbatch options; a task alone in its group goes out as a job of its own.
    """
    groups: dict[tuple[int, tuple[str, ...], tuple[str, ...]], list[_Planned]] = {}
    launches: dict[int, _ArrayLaunch] = {}
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
            arrays.append(_record_array(connection, workdir, launches[launch_id], list(options),
                                        [members[index] for index in chunk]))
    return alone, arrays


def _record_array(connection, workdir: Path, launch: _ArrayLaunch, options: list[str], members: list[_Planned]) -> _PlannedArray:  # type: ignore[no-untyped-def]
    path = array_script_path(workdir, launch.uuid, queries.array_count(connection, launch.id))
    log = array_log_path(workdir, path)
    tasks = [ArrayTask(job.script_path, job.script_text, job.log_path) for job in members]
    text = render_array_script(sbatch_directives(members[0].script_text), tasks)
    argv = array_argv_from(options, path, log, array_spec(len(members), launch.array_limit))
    array_id = writes.insert(connection, "slurm_arrays", {
        "launch_id": launch.id, "path": str(path), "text": text, "sha256": sha256_text(text), "argv": argv,
        "task_count": len(members), "intended_at": utcnow(),
    })
    argv = with_tag(argv, array_tag(launch.uuid, array_id))
    writes.update(connection, "slurm_arrays", array_id, {"argv": argv})
    for task, job in enumerate(members):
        writes.update(connection, "submissions", job.submission_id,
                      {"argv": job.own_argv, "array_id": array_id, "array_task": task})
    return _PlannedArray(array_id, argv, [job.experiment for job in members],
                         [*((job.script_path, job.script_text) for job in members), (path, text)])


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
