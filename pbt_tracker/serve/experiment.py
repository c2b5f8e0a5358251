"""One experiment's page: its attempts, its scripts and the tail of its log, followed as `logs -f` follows it.

Which file is the log comes from the record alone (`report.logs.locate`, by
experiment and attempt), never from the request: a page names an experiment
by its id and the attempt it shows, nothing else. When the record shows a
newer attempt, the page is told so and moves to that attempt's log.
"""

from __future__ import annotations

import json
import os
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pbt_tracker.errors import PbtTrackError
from pbt_tracker.report.detail import exit_text
from pbt_tracker.report.logs import LogTarget, last_lines, locate
from pbt_tracker.report.rows import log_file
from pbt_tracker.serve.follow import open_record
from pbt_tracker.serve.page import POLL_MILLISECONDS, document
from pbt_tracker.store import details
from pbt_tracker.store import serve as record
from pbt_tracker.store.times import iso_text

if TYPE_CHECKING:
    from pbt_tracker.serve.follow import Workdir

__all__ = ["experiment_page", "log_update"]

TAIL_LINES = 200
_CHUNK = 256 * 1024  # the most of a log one answer carries: a page asks again for the rest


def _when(text: str | None) -> str:
    return "-" if not text else escape(iso_text(text) or "-")


def _target(connection: Any, experiment: record.ExperimentDetail) -> tuple[LogTarget | None, str | None]:
    try:
        return locate(connection, details.ExperimentRow._make(experiment)), None
    except PbtTrackError as error:
        return None, str(error)


def _attempts_html(connection: Any, attempts: list[Any]) -> str:
    rows = []
    for attempt in attempts:
        changes = "".join(f"<li><time>{_when(change.observed_at)}</time> {escape(change.state)}"
                          + (f" &#8212; {escape(change.detail)}" if change.detail else "") + "</li>"
                          for change in details.state_changes(connection, attempt.id))
        log = log_file(attempt.log_path, attempt.job_id) or attempt.log_path or "-"
        rows.append(
            f'<tr class="state-{escape(attempt.state.lower())}"><td>{attempt.attempt}</td>'
            f'<td>{escape(attempt.job_id or "-")}</td><td class="state">{escape(attempt.state)}</td>'
            f'<td>{escape(exit_text(attempt.exit_code, attempt.exit_signal))}</td>'
            f'<td>{escape(attempt.node or "-")}</td><td>{_when(attempt.submitted_at)}</td>'
            f'<td>{_when(attempt.started_at)}</td><td>{_when(attempt.ended_at)}</td>'
            f'<td>{escape(attempt.script_path or "-")}</td><td>{escape(log)}</td>'
            f'<td><details><summary>states</summary><ul>{changes}</ul></details></td></tr>')
    heads = "".join(f"<th>{name}</th>" for name in ("attempt", "job", "state", "exit", "node", "submitted", "started",
                                                     "ended", "script", "log", "history"))
    return f'<table id="attempts"><thead><tr>{heads}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _scripts_html(scripts: list[record.ScriptRow]) -> str:
    if not scripts:
        return '<p class="empty">no script on record (a local process runs its command)</p>'
    return "".join(f"<details><summary>{escape(script.path)} <time>{_when(script.created_at)}</time></summary>"
                   f"<pre>{escape(script.text)}</pre></details>" for script in scripts)


def experiment_page(workdir: Workdir, experiment_id: int) -> str | None:
    """The page, or None when the workdir holds no such experiment."""
    store = open_record(workdir.path)
    try:
        with store.read() as connection:
            experiment = record.experiment(connection, experiment_id)
            if experiment is None:
                return None
            attempts = details.attempts(connection, experiment_id)
            attempts_html = _attempts_html(connection, attempts)
            scripts = record.scripts_of(connection, experiment_id)
            target, no_log = _target(connection, experiment)
    finally:
        store.close()
    text, offset, state = _first_tail(target, no_log)
    params = json.loads(experiment.params or "{}") or {}
    body = (
        f'<header><p><a href="./?w={workdir.index}">&#8592; the population</a></p>'
        f'<h1>{escape(experiment.name)} <span class="workdir">run {escape(experiment.run_name)}, launch '
        f'{experiment.launch_id}, {escape(experiment.backend)}</span></h1></header><main>'
        f'<section><h2>Command</h2><pre class="command">{escape(experiment.cmd)}</pre>'
        + (f'<p class="params">{escape(" ".join(f"{key}={value}" for key, value in params.items()))}</p>' if params else "")
        + _progress_html(workdir, experiment_id)
        + f'</section><section><h2>Attempts</h2>{attempts_html}</section>'
        f'<section><h2>Scripts</h2>{_scripts_html(scripts)}</section>'
        f'<section id="log-section"><h2>Log</h2><p id="log-state">{escape(state)}</p>'
        f'<pre id="log">{escape(text)}</pre></section></main>'
    )
    attributes = (f' data-page="experiment" data-workdir="{workdir.index}" data-experiment="{experiment_id}" '
                  f'data-attempt="{target.attempt if target else 0}" data-offset="{offset}" '
                  f'data-poll="{POLL_MILLISECONDS}"')
    return document(f"pbt-track: {experiment.name}", body, attributes)


def _progress_html(workdir: Workdir, experiment_id: int) -> str:
    """The policy's line of the population table: how far it got, as the record's history tells it."""
    row = next((row for row in workdir.population.table or [] if row.experiment_id == experiment_id), None)
    if row is None or row.report.pbt_policy is None:
        return ""
    report = row.report

    def number(value: float | None) -> str:
        return "-" if value is None else f"{value:.4g}"

    best = " (the best of the population)" if row.best else ""
    return (f'<p class="progress">PBT policy {report.pbt_policy}: iteration {number(report.pbt_iteration)}, '
            f'objective {number(report.pbt_objective)}, best {number(report.pbt_best_objective)}{best}</p>')


def _describe(target: LogTarget) -> str:
    job = f"job {target.job_id}" if target.job_id else "no job id yet"
    return f"attempt {target.attempt} ({job}, {target.state})"


def _first_tail(target: LogTarget | None, no_log: str | None) -> tuple[str, int, str]:
    """The last lines of the log, where the page goes on from, and a line saying what is shown."""
    if target is None:
        return "", 0, no_log or "no log"
    if target.path is None or not target.path.is_file():
        return "", 0, f"waiting for {target.path or 'its log'}: {_describe(target)}"
    size = target.path.stat().st_size
    with target.path.open("rb") as handle:
        handle.seek(max(0, size - _CHUNK))
        data = handle.read(size)
    return (last_lines(data.decode(errors="replace"), TAIL_LINES), size,
            f"the last {TAIL_LINES} lines of {target.path}, {_describe(target)}; new lines appear as they are written")


def log_update(workdir: Workdir, experiment_id: int, attempt: int, offset: int) -> dict[str, Any] | None:
    """What the log gained since `offset`; when the record shows a newer attempt, that attempt's log from its start."""
    store = open_record(workdir.path)
    try:
        with store.read() as connection:
            experiment = record.experiment(connection, experiment_id)
            if experiment is None:
                return None
            target, no_log = _target(connection, experiment)
    finally:
        store.close()
    if target is None:
        return {"attempt": attempt, "offset": offset, "text": "", "state": no_log}
    answer: dict[str, Any] = {"attempt": target.attempt, "state": _describe(target)}
    if target.attempt != attempt:
        answer["note"] = f"pbt-track: {_describe(target)} started; following {target.path or 'its log'}"
        offset = 0
    if target.path is None or not target.path.is_file():
        answer.update(offset=offset, text="", state=f"waiting for {target.path or 'its log'}: {_describe(target)}")
        return answer
    text, offset = _read_from(target.path, offset)
    answer.update(offset=offset, text=text)
    return answer


def _read_from(path: Path, offset: int) -> tuple[str, int]:
    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if offset > size:  # the log was started again: read it from its beginning, as `logs -f` does
            offset = 0
        handle.seek(offset)
        data = handle.read(_CHUNK)
    if len(data) == _CHUNK and b"\n" in data:
        data = data[:data.rindex(b"\n") + 1]  # the rest at the next poll, without splitting a line or a character
    return data.decode(errors="replace"), offset + len(data)
