"""`pbt-track logs`: which file an attempt writes to, and following it across attempts as `tail -F` cannot.

After a resubmit the experiment writes to a new log (a new job id in Slurm's
`%j`, a new attempt number for a local process); a plain `tail -f` keeps
reading the dead attempt's. Following here asks the record, at a modest
interval, whether a newer attempt exists and moves to its log.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from pbt_tracker import collector
from pbt_tracker.errors import OptionError
from pbt_tracker.report.detail import array_log
from pbt_tracker.report.rows import log_file
from pbt_tracker.store import Store
from pbt_tracker.store import details as record


@dataclass(frozen=True)
class LogTarget:
    experiment: str
    attempt: int
    job_id: str | None
    state: str
    path: Path | None


def locate(connection: sqlite3.Connection, experiment: record.ExperimentRow, attempt: int | None = None,
           slurm: bool = False) -> LogTarget:
    """The log of the given attempt (the latest by default); with `slurm`, Slurm's own log of an array task."""
    rows = record.attempts(connection, experiment.id)
    if not rows:
        raise OptionError(f"{experiment.name} has no attempt on record; `pbt-track show {experiment.name}` tells why")
    chosen = rows[-1] if attempt is None else next((row for row in rows if row.attempt == attempt), None)
    if chosen is None:
        raise OptionError(f"{experiment.name} has no attempt {attempt} (it has 1 to {rows[-1].attempt}); "
                          "leave --attempt out for the latest")
    from pbt_tracker import backends

    advice = backends.get(experiment.backend).log_advice
    if advice:
        raise OptionError(f"{experiment.name} is an experiment of a {experiment.backend} launch: {advice}")
    if slurm:
        if not backends.get(experiment.backend).runs_sbatch_scripts:
            raise OptionError("--slurm reads Slurm's log of an array task; this experiment ran as a local process")
        path = array_log(chosen.array_argv, chosen.job_id)
        if path is None and chosen.array_id is None:
            path = log_file(chosen.log_path, chosen.job_id)  # a job of its own: Slurm writes to its log
    elif chosen.log_path and "%j" not in chosen.log_path:
        path = chosen.log_path
    else:
        path = log_file(chosen.log_path, chosen.job_id)
    return LogTarget(experiment.name, chosen.attempt, chosen.job_id, chosen.state,
                     Path(path) if path else None)


def last_lines(text: str, count: int | None) -> str:
    """The last `count` lines as tail prints them (all with None); a final partial line counts as one."""
    if count is None:
        return text
    if count <= 0:
        return ""
    lines = text.splitlines(keepends=True)
    return "".join(lines[-count:])


def _waiting(target: LogTarget) -> str:
    job = f"job {target.job_id}" if target.job_id else "no job id yet"
    where = target.path or "its log"
    return f"pbt-track: waiting for {where} ({target.experiment} attempt {target.attempt}, {job}, {target.state})"


def _what_it_did(state: str) -> str:
    """What the record says of an attempt, in words that claim no more than it knows."""
    from pbt_tracker import states

    if state in (states.SUBMITTING, states.SUBMITTED, states.SUBMIT_UNCERTAIN):
        return "was submitted"
    if state in states.WAITING:
        return "is pending"
    if state in states.FINAL:
        return f"ended {state}"
    return "started"


def follow(current: Callable[[], LogTarget], out: TextIO, err: TextIO, lines: int | None,
           sleep: Callable[[float], Any], poll: float = 0.5, record_every: int = 4) -> None:
    """Print the log as it grows; when the record shows a newer attempt, say so and go on with its log.

    A log that does not exist yet (a pending job) is waited for with one message. Ends on Ctrl-C.
    """
    collector.for_a_long_life()
    target = current()
    offset: int | None = None  # None: the file has not been read yet, so start from its last `lines` lines
    told_waiting = False
    polls = 0
    try:
        while True:
            if target.path is not None and target.path.is_file():
                with target.path.open("rb") as handle:
                    if offset is None:
                        text = handle.read().decode(errors="replace")
                        out.write(last_lines(text, lines))
                    else:
                        handle.seek(offset if offset <= target.path.stat().st_size else 0)
                        out.write(handle.read().decode(errors="replace"))
                    offset = handle.tell()
                out.flush()
            elif not told_waiting:
                err.write(_waiting(target) + "\n")
                err.flush()
                told_waiting = True
            polls += 1
            if polls % record_every == 0:
                newer = current()
                if newer.attempt != target.attempt or newer.path != target.path:
                    err.write(f"pbt-track: {newer.experiment} attempt {newer.attempt} "
                              f"(job {newer.job_id or '-'}) {_what_it_did(newer.state)}; "
                              f"following {newer.path or 'its log'}\n")
                    err.flush()
                    target, offset, told_waiting = newer, 0, False
                elif _what_it_did(newer.state) != _what_it_did(target.state):
                    err.write(f"pbt-track: {newer.experiment} attempt {newer.attempt} "
                              f"(job {newer.job_id or '-'}) {_what_it_did(newer.state)}\n")
                    err.flush()
                    target = newer
            sleep(poll)
    except KeyboardInterrupt:
        return


def read_target(store: Store, name: str | None, policy: int | None, attempt: int | None, slurm: bool) -> LogTarget:
    from pbt_tracker.report.detail import find_experiment

    with store.read() as connection:
        return locate(connection, find_experiment(connection, name, policy), attempt, slurm)
