"""A page's poll answered with what it lacks, worked out from the cursor it sends back.

The cursor is the population's versions when the page last heard from the
server (`Population.cursor`). Points are sent as path data to append to the
lines the page holds; axes, marks and the lineage whole when the view
changed; a chart whole only when the page's copy can no longer be extended.
A cursor that cannot be read is answered as a page that holds nothing.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from pbt_tracker.serve.chart import CHARTS, axes_svg, line_path, line_tail, marks_svg, transform, whole_chart
from pbt_tracker.serve.lineage import lineage_html
from pbt_tracker.serve.page import legend_html, status_html
from pbt_tracker.serve.population import Population
from pbt_tracker.serve.tables import feed_html, table_body

__all__ = ["Cursor", "parse_cursor", "updates"]


class Cursor(NamedTuple):
    generation: int
    feed: int
    table: int
    view: int
    frame: int


_NOTHING = Cursor(-1, 0, -1, -1, -1)


def parse_cursor(text: str | None) -> Cursor:
    try:
        return Cursor(*(int(part) for part in (text or "").split(".")))
    except (TypeError, ValueError):
        return _NOTHING


def updates(population: Population, cursor: Cursor, workdir: int) -> dict[str, Any]:
    """What the page lacks, as JSON: only the keys of what changed, and always the new cursor and the status."""
    answer: dict[str, Any] = {"cursor": population.cursor, "status": status_html(population)}
    if cursor.table != population.table_version:
        answer["table"] = table_body(population.table or [], workdir)
    if cursor.feed < population.feed_sequence:
        answer["feed"] = feed_html([item for item in population.feed if item.sequence > cursor.feed], workdir)
    if cursor.frame == population.frame and (cursor.generation != population.generation
                                             or cursor.view != population.view):
        answer["charts"] = {kind: _chart_changes(kind, population, cursor) for kind in CHARTS}
    if cursor.frame != population.frame or None in answer.get("charts", {}).values():
        answer["charts"] = {kind: {"svg": whole_chart(kind, population)} for kind in CHARTS}
    if cursor.frame != population.frame or cursor.view != population.view:
        answer["lineage"] = lineage_html(population)
        answer["legend"] = legend_html(population)
    return answer


def _chart_changes(kind: str, population: Population, cursor: Cursor) -> dict[str, Any] | None:
    """The chart's changes since the cursor; None when the page is too far behind to be told them."""
    frame = population.frames[kind]
    changes: dict[str, Any] = {"grow": [], "new": []}
    if cursor.view != population.view:
        changes.update(transform=transform(frame), axes=axes_svg(kind, frame),
                       marks=marks_svg(kind, frame, population.marks))
    for policy in population.policies.values():
        for line in policy.lines:
            if not len(line):
                continue
            if line.born > cursor.generation:
                changes["new"].append(line_path(kind, policy, line, frame))
                continue
            start = line.since(cursor.generation)
            if start is None:
                return None
            if start < len(line):
                tail = line_tail(kind, policy, line, start, frame)
                if tail:
                    changes["grow"].append([f"{kind}-{policy.experiment_id}-{line.number}", tail])
    return changes
