"""The population's lineage: which policy took whose weights, and when, as lanes and as a list.

Each policy is a lane across the iterations; a replacement is a stroke from
the donor's lane to the taker's at the iteration after which it happened, and
a new life is a ring on its lane. The marks are the charts' own (`marks`), so
the three views never disagree about where a replacement was.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from html import escape

from pbt_tracker.plot.data import REPLACEMENT, RESTART
from pbt_tracker.serve.chart import LEFT, PLOT_WIDTH, WIDTH
from pbt_tracker.serve.marks import ChartMark
from pbt_tracker.serve.population import Policy, Population
from pbt_tracker.store.times import iso_utc

__all__ = ["lineage_html"]

_LISTED = 100


def _lane_height(count: int) -> int:
    return 18 if count <= 16 else 10


def _policy_by_number(population: Population) -> dict[tuple[int, int], Policy]:
    return {(policy.launch_id, policy.index): policy for policy in population.policies.values()}


def lineage_svg(population: Population) -> str:
    policies = list(population.policies.values())
    frame = population.frames.get("iteration")
    if not policies or frame is None:
        return '<p class="empty">no PBT policy on record yet</p>'
    lane = _lane_height(len(policies))
    height = lane * len(policies) + 24
    x_scale = PLOT_WIDTH / (frame.x.high - frame.x.low)
    row = {policy.experiment_id: number for number, policy in enumerate(policies)}
    by_number = _policy_by_number(population)

    def x_of(iteration: float) -> float:
        return LEFT + (iteration - frame.x.low) * x_scale

    def y_of(number: int) -> float:
        return 4 + lane * number + lane / 2

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="lineage" id="lineage-lanes" '
             f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="which policy took whose weights">']
    for number, policy in enumerate(policies):
        iterations = [value for line in policy.lines if len(line) for value in (line.iterations[0], line.iterations[-1])]
        y = y_of(number)
        parts.append(f'<text x="{LEFT - 6}" y="{y + 3.5:.1f}" text-anchor="end" font-size="{min(11, lane - 1)}">'
                     f'{escape(policy.label)}</text>')
        if iterations:
            parts.append(f'<line x1="{x_of(min(iterations)):.1f}" y1="{y:.1f}" x2="{x_of(max(iterations)):.1f}" '
                         f'y2="{y:.1f}" stroke="{policy.colour}" stroke-width="2"/>')
    for mark in population.marks:
        taker = population.policies.get(mark.experiment_id)
        if taker is None or mark.kind not in (REPLACEMENT, RESTART):
            continue
        x, y = x_of(mark.iteration), y_of(row[taker.experiment_id])
        if mark.kind == RESTART:
            parts.append(f'<g class="lane-mark restart"><title>{escape(mark.title)}</title><circle cx="{x:.1f}" '
                         f'cy="{y:.1f}" r="3.5" fill="#fff" stroke="#111" stroke-width="1.2"/></g>')
            continue
        donor = by_number.get((taker.launch_id, int(mark.note)))
        if donor is None:
            continue
        from_y = y_of(row[donor.experiment_id])
        tip = -3.0 if from_y > y else 3.0
        parts.append(f'<g class="lane-mark handover" data-taker="{taker.index}" data-donor="{donor.index}">'
                     f'<title>{escape(mark.title)}</title><path d="M{x:.1f} {from_y:.1f}L{x:.1f} {y:.1f}" '
                     f'stroke="{donor.colour}" stroke-width="1.2"/><path d="M{x - 3:.1f} {y + tip:.1f}h6l-3 {-tip:.1f}z" '
                     f'fill="{donor.colour}"/></g>')
    parts.append(f'<text x="{LEFT + PLOT_WIDTH / 2:.0f}" y="{height - 4}" text-anchor="middle" font-size="11">'
                 'iteration (same axis as the chart above)</text></svg>')
    return "".join(parts)


def _moment(mark: ChartMark) -> str:
    if math.isnan(mark.written):
        return "-"
    return iso_utc(datetime.fromtimestamp(mark.written, timezone.utc).replace(tzinfo=None))


def lineage_list(population: Population) -> str:
    """The newest replacements first, each as a sentence with the time the taker wrote that iteration."""
    taken = [mark for mark in population.marks if mark.kind == REPLACEMENT]
    taken.sort(key=lambda mark: (-math.inf if math.isnan(mark.written) else mark.written, mark.iteration), reverse=True)
    if not taken:
        return '<p class="empty">no policy has taken another\'s weights yet</p>'
    items = "".join(f'<li><time>{_moment(mark)}</time> {escape(mark.title)}</li>' for mark in taken[:_LISTED])
    more = f'<p class="more">and {len(taken) - _LISTED} earlier ones</p>' if len(taken) > _LISTED else ""
    return f'<ul class="lineage-list">{items}</ul>{more}'


def lineage_html(population: Population) -> str:
    return lineage_svg(population) + lineage_list(population)
