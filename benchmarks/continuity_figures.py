"""The continuity benchmark's figures, read from evidence pbt-track did not write.

Two witnesses, each parsed by a pure function here so that the figures can be
checked on literal text: the toy trainer's journal (`toy.journal=`: a line per
process start and per iteration done, with the process id), and sacct (every
run of every job of the benchmark, requeued runs included). pbt-track's record
is only what the figures are compared with.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

SACCT_FORMAT = "JobID,State,Submit,Start,End,Eligible,WorkDir"


@dataclass(frozen=True)
class JournalLine:
    time: float
    pid: int
    policy: int
    what: str  # "start" or "iteration"
    iteration: int


@dataclass(frozen=True)
class Life:
    """One start of a policy's training process, to its last journal line (an exec starts a new life)."""

    policy: int
    pid: int
    start_iteration: int
    started: float
    last_seen: float


@dataclass(frozen=True)
class SlurmRun:
    """One row of `sacct --duplicates --allocations`: a job's run (a requeued job has one row per run)."""

    job_id: str
    state: str
    submit: datetime | None
    start: datetime | None
    end: datetime | None
    workdir: str
    eligible: datetime | None = None  # when Slurm let it start (after a requeue: past Slurm's hold)


def parse_journal(text: str) -> list[JournalLine]:
    lines = []
    for line in text.splitlines():
        stamp, pid, policy, what, iteration = line.split()
        lines.append(JournalLine(float(stamp), int(pid), int(policy), what, int(iteration)))
    return lines


def lives(journal: Iterable[JournalLine]) -> list[Life]:
    open_lives: dict[int, Life] = {}
    done: list[Life] = []
    for line in journal:
        current = open_lives.get(line.pid)
        if line.what == "start":
            if current is not None:
                done.append(current)
            open_lives[line.pid] = Life(line.policy, line.pid, line.iteration, line.time, line.time)
        elif current is not None:
            open_lives[line.pid] = Life(current.policy, current.pid, current.start_iteration, current.started,
                                        line.time)
    return sorted([*done, *open_lives.values()], key=lambda life: life.started)


def restarts_from_zero(journal: Iterable[JournalLine]) -> dict[int, int]:
    """Per policy, the starts at iteration 0 after its first: each one a policy started over."""
    starts: dict[int, int] = defaultdict(int)
    for line in journal:
        if line.what == "start" and line.iteration == 0:
            starts[line.policy] += 1
    return {policy: count - 1 for policy, count in sorted(starts.items()) if count > 1}


def redone_iterations(journal: Iterable[JournalLine]) -> dict[int, list[int]]:
    """Per policy, the iterations done a second time: work lost beyond the iteration in progress."""
    seen: set[tuple[int, int]] = set()
    redone: dict[int, list[int]] = defaultdict(list)
    for line in journal:
        if line.what == "iteration":
            if (line.policy, line.iteration) in seen:
                redone[line.policy].append(line.iteration)
            seen.add((line.policy, line.iteration))
    return dict(redone)


def overlapping_lives(all_lives: Iterable[Life]) -> list[tuple[Life, Life]]:
    """Pairs of lives of one policy in different processes whose journal lines interleave in time."""
    by_policy: dict[int, list[Life]] = defaultdict(list)
    for life in all_lives:
        by_policy[life.policy].append(life)
    pairs = []
    for policy_lives in by_policy.values():
        ordered = sorted(policy_lives, key=lambda life: life.started)
        for index, earlier in enumerate(ordered):
            for later in ordered[index + 1:]:
                if later.pid != earlier.pid and later.started < earlier.last_seen:
                    pairs.append((earlier, later))
    return pairs


def _sacct_time(text: str) -> datetime | None:
    return None if text in ("", "Unknown", "None") else datetime.fromisoformat(text)


def parse_sacct_runs(text: str, workdir: str) -> list[SlurmRun]:
    """Rows of `sacct --parsable2 --noheader --format=SACCT_FORMAT` whose job ran in `workdir` (rows without
    Eligible, as older captures hold them, are read too)."""
    runs = []
    for line in text.splitlines():
        fields = line.split("|")
        job_id, state, submit, start, end = fields[:5]
        eligible, where = (fields[5], "|".join(fields[6:])) if len(fields) > 6 else ("", "|".join(fields[5:]))
        if where.rstrip("/") != workdir.rstrip("/"):
            continue
        runs.append(SlurmRun(job_id, state.split(" ")[0], _sacct_time(submit), _sacct_time(start),
                             _sacct_time(end), where, _sacct_time(eligible)))
    return runs


def _ran(runs: Iterable[SlurmRun]) -> list[tuple[SlurmRun, datetime, datetime]]:
    """The runs that started and ended, with their start and end, in the order they started."""
    return sorted(((run, run.start, run.end) for run in runs if run.start is not None and run.end is not None),
                  key=lambda item: item[1])


def overlapping_runs(runs_by_policy: dict[int, list[SlurmRun]]) -> list[tuple[SlurmRun, SlurmRun]]:
    """Pairs of runs of one policy's jobs that were both running at some moment, from sacct's Start and End."""
    pairs: list[tuple[SlurmRun, SlurmRun]] = []
    for runs in runs_by_policy.values():
        ran = _ran(runs)
        for index, (earlier, _start, end) in enumerate(ran):
            pairs.extend((earlier, later) for later, start, _end in ran[index + 1:] if start < end)
    return pairs


def newest_states(runs: Iterable[SlurmRun]) -> dict[str, str]:
    """Each job's state in its newest run: what the record must say once the job has ended."""
    newest: dict[str, SlurmRun] = {}
    for run in runs:
        known = newest.get(run.job_id)
        if known is None or (run.submit or datetime.min) >= (known.submit or datetime.min):
            newest[run.job_id] = run
    return {job_id: run.state for job_id, run in newest.items()}


def record_mismatches(recorded: dict[str, str], sacct_states: dict[str, str]) -> list[str]:
    """One line per job the record and sacct disagree on, or that only one of them knows."""
    lines = []
    for job_id in sorted(set(recorded) | set(sacct_states), key=lambda job: (len(job), job)):
        mine, theirs = recorded.get(job_id), sacct_states.get(job_id)
        if mine != theirs:
            lines.append(f"job {job_id}: record {mine or 'has no such job'}, sacct {theirs or 'has no such job'}")
    return lines


@dataclass(frozen=True)
class PolicyTime:
    """A policy's wall time from its first run's start to its last run's end, and what the scheduler took of it."""

    wall: float
    queue_waits: float  # from each later run's submit (or the previous run's end) to its start
    requeue_waits: float  # the part of queue_waits that Slurm's requeues took

    @property
    def working(self) -> float:
        return self.wall - self.queue_waits


def policy_time(runs: Iterable[SlurmRun]) -> PolicyTime:
    """Wall time from the policy's first start to its last end, less the time each later run waited in Slurm.

    A run waited from its submit (for a requeued job, from its previous
    run's end) to its start. sacct may lose the start of a requeued job's
    next run (it lists it ended, TIMEOUT, with no Start): it waited until it
    was eligible, and ran from then. The waits after a requeue are Slurm's
    requeue delay, given apart.
    """
    ordered = sorted(runs, key=lambda run: (run.submit or run.start or run.end or datetime.min))
    ran = _ran(ordered)
    if not ran:
        raise ValueError("no run of the policy has both a start and an end in sacct")
    first_start = ran[0][1]
    wall = (max(end for _run, _start, end in ran) - first_start).total_seconds()
    waits = requeues = 0.0
    previous_end_of: dict[str, datetime] = {}
    for run in ordered:
        # A row without a Start ran all the same (sacct lost its start): from when it was eligible, if known.
        waited_until = run.start or run.eligible
        queued_since = previous_end_of.get(run.job_id, run.submit)
        if waited_until is not None and queued_since is not None and waited_until > first_start:
            wait = max(0.0, (waited_until - max(queued_since, first_start)).total_seconds())
            waits += wait
            requeues += wait if run.job_id in previous_end_of else 0.0
        if run.end is not None:
            previous_end_of[run.job_id] = run.end
    return PolicyTime(wall, waits, requeues)
