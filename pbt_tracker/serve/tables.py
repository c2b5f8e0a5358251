"""The page's population table and its feed of keeper decisions and state changes, as HTML.

The table holds `report --pbt`'s rows: `report.rows.report_rows` reads each
experiment's latest attempt, `report.pbt.progress_from_history` tells each
policy's progress, `report.rows.by_objective` ranks them and picks the best,
`report.keeper.latest_by_experiment` gives the keeper's last word. Every
value from the record is escaped; each cell carries the value it sorts by.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, NamedTuple

from pbt_tracker import states
from pbt_tracker.report.detail import exit_text
from pbt_tracker.report.pbt import progress_from_history, short_params
from pbt_tracker.report.rows import ReportRow, by_objective, report_rows
from pbt_tracker.serve.population import DecisiveRow, FeedItem, Population, best_of
from pbt_tracker.store.times import iso_text
from pbt_tracker.store.selection import Selection

if TYPE_CHECKING:
    from pbt_tracker.store import Store

__all__ = ["COLUMNS", "TableRow", "feed_html", "table_body", "table_html", "table_rows"]

COLUMNS = ("policy", "experiment", "state", "attempt", "job", "exit", "node", "iteration", "objective", "best",
           "params", "keeper's last decision")
_NUMERIC = {"policy", "attempt", "exit", "iteration", "objective", "best"}


class TableRow(NamedTuple):
    experiment_id: int | None
    report: ReportRow  # its elapsed time left out: it would change the table every second
    best: bool
    decision: dict[str, str] | None  # action, reason, decided_at


def table_rows(population: Population, store: Store) -> list[TableRow]:
    """Each experiment shown, best objective first as `report --pbt` orders them."""
    from pbt_tracker.report.keeper import latest_by_experiment

    rows = report_rows(store, Selection())
    latest = latest_by_experiment(store)
    launch_best: dict[int, DecisiveRow | None] = {}
    filled = []
    for row in rows:
        experiment_id = population.ids.get((row.launch_id, row.experiment))
        policy = population.policies.get(experiment_id) if experiment_id is not None else None
        row = row._replace(elapsed=None)
        if policy is not None:
            if policy.launch_id not in launch_best:
                launch_best[policy.launch_id] = best_of(population.decisive_rows(policy.launch_id))
            progress = progress_from_history(population.rows_deciding(policy, launch_best[policy.launch_id]),
                                             policy.experiment_id, policy.index)
            if progress:
                row = row._replace(**progress)
            row = row._replace(pbt_policy=policy.index)  # progress_from_history leaves pbt_policy out
        filled.append(row)
    ranked, best = by_objective(filled)
    return [TableRow(population.ids.get((row.launch_id, row.experiment)),
                     row._replace(pbt_policy=_unstarred(row.pbt_policy)), bool(best) and number == 0,
                     latest.get((row.launch_id, row.experiment)))
            for number, row in enumerate(ranked)]


def _unstarred(policy: object) -> int | None:
    """`by_objective` writes the best policy's number as `3*` for a terminal; the page marks it its own way."""
    return None if policy is None else int(str(policy).rstrip("*"))


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _cell(text: str, sort: object = None, classes: str = "") -> str:
    sort_attribute = "" if sort is None else f' data-sort="{escape(str(sort))}"'
    class_attribute = f' class="{classes}"' if classes else ""
    return f"<td{class_attribute}{sort_attribute}>{text}</td>"


def _row_html(row: TableRow, workdir: int) -> str:
    report = row.report
    policy = "-" if report.pbt_policy is None else str(report.pbt_policy)
    if row.best:
        policy += ' <span class="best-mark" title="the best objective of the population">&#9733; best</span>'
    name = escape(report.experiment)
    link = f'<a href="experiment?w={workdir}&amp;id={row.experiment_id}">{name}</a>' if row.experiment_id else name
    decision = row.decision
    said = "-" if decision is None else (
        f'<span class="action">{escape(decision["action"])}</span> <time>{escape(decision["decided_at"])}</time>: '
        f'{escape(decision["reason"])}')
    cells = [
        _cell(policy, report.pbt_policy, "policy"), _cell(link, report.experiment),
        _cell(escape(report.state), report.state, f"state state-{escape(report.state.lower())}"),
        _cell(str(report.attempt), report.attempt), _cell(escape(report.job_id or "-"), report.job_id or ""),
        _cell(escape(exit_text(report.exit_code, report.exit_signal)), report.exit_code),
        _cell(escape(report.node or "-"), report.node or ""),
        _cell(_number(report.pbt_iteration), report.pbt_iteration, "iteration"),
        _cell(_number(report.pbt_objective), report.pbt_objective, "objective"),
        _cell(_number(report.pbt_best_objective), report.pbt_best_objective),
        _cell(escape(short_params(report.pbt_params) or "-"), short_params(report.pbt_params) or ""),
        _cell(said, decision["decided_at"] if decision else "", "keeper"),
    ]
    classes = "best" if row.best else ""
    return f'<tr data-experiment="{row.experiment_id or ""}" class="{classes}">{"".join(cells)}</tr>'


def table_body(rows: list[TableRow], workdir: int) -> str:
    if not rows:
        return f'<tr><td colspan="{len(COLUMNS)}">no experiment on record</td></tr>'
    return "".join(_row_html(row, workdir) for row in rows)


def table_html(rows: list[TableRow], workdir: int) -> str:
    """The sortable table: a click on a heading sorts by it (static/page.js), the best policy first to begin with."""
    heads = "".join(f'<th data-type="{"number" if column in _NUMERIC else "text"}" scope="col">{escape(column)}</th>'
                    for column in COLUMNS)
    return (f'<div class="table-box"><table id="population" class="sortable"><thead><tr>{heads}</tr></thead>'
            f'<tbody>{table_body(rows, workdir)}</tbody></table></div>')


def _when(text: str | None) -> str:
    return "-" if not text else escape(iso_text(text) or "-")


def feed_html(items: list[FeedItem], workdir: int) -> str:
    """List items, newest first: the keeper's decisions with their outcome, and every state an attempt reached."""
    parts = []
    for item in sorted(items, key=lambda item: item.sequence, reverse=True):
        row = item.row
        if item.kind == "decision":
            about = f" {escape(row.experiment)}" + (f" attempt {row.attempt}" if row.attempt else "") if row.experiment else ""
            outcome = f" &#8594; {escape(row.outcome)}" if row.outcome else ""
            parts.append(f'<li class="decision" data-sequence="{item.sequence}"><time>{_when(item.at)}</time> '
                         f'keeper <b>{escape(row.action)}</b>{about}: {escape(row.reason)}{outcome}</li>')
        else:
            code = f" (exit {row.exit_code})" if row.exit_code is not None and row.state in states.FINAL else ""
            detail = f" &#8212; {escape(row.detail)}" if row.detail else ""
            job = f", job {escape(row.job_id)}" if row.job_id else ""
            parts.append(f'<li class="change state-{escape(row.state.lower())}" data-sequence="{item.sequence}">'
                         f'<time>{_when(item.at)}</time> <a href="experiment?w={workdir}&amp;id={row.experiment_id}">'
                         f'{escape(row.experiment)}</a> attempt {row.attempt}{job}: <b>{escape(row.state)}</b>'
                         f'{code}{detail}</li>')
    return "".join(parts)
