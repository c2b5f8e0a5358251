"""The objective charts as SVG, drawn on the server: over iterations, and over wall-clock time.

Lines are drawn in the data's own units inside a group whose transform maps
them onto the plot area (`vector-effect: non-scaling-stroke` keeps them thin),
so a page extends a line by appending to its path and follows new axes by
taking a new transform: the points it holds never have to be sent again.
Marks and axes are drawn in pixels, and sent whole when they change.
Everything taken from the record goes through `html.escape`.
"""

from __future__ import annotations

import colorsys
import math
from array import array
from html import escape
from typing import NamedTuple

from pbt_tracker.plot.data import ATTEMPT, REPLACEMENT, RESTART
from pbt_tracker.serve.marks import CRASH, ChartMark
from pbt_tracker.serve.population import Policy, Population
from pbt_tracker.serve.series import Line, decimated, path_data
from pbt_tracker.serve.ticks import Axis, number_axis, time_axis

__all__ = ["CHARTS", "ChartFrame", "chart_svg", "colours", "frames", "line_path", "line_tail", "marks_svg", "symbol",
           "transform", "whole_chart"]

CHARTS = {"iteration": "true objective over iterations", "time": "true objective over wall-clock time (UTC)"}
WIDTH, HEIGHT = 960, 360
LEFT, RIGHT, TOP, BOTTOM = 64, 36, 12, 40
PLOT_WIDTH, PLOT_HEIGHT = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
_COLUMNS = PLOT_WIDTH // 2  # a line's lowest and highest point every two pixels: no wider than the eye tells apart
_NOTED_DONORS = 40  # more replacements than this are marked without their donor's number, as plot does
_TAB10 = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


class ChartFrame(NamedTuple):
    x: Axis
    y: Axis
    origin: float  # subtracted from x in the paths: seconds since the epoch need more digits than a chart has


def colours(count: int) -> list[str]:
    """One colour per policy: matplotlib's tab10 for a few, hues around the wheel for many."""
    if count <= len(_TAB10):
        return list(_TAB10[:count])
    found = []
    for index in range(count):
        red, green, blue = colorsys.hls_to_rgb(index / count, 0.45, 0.65)
        found.append(f"#{round(red * 255):02x}{round(green * 255):02x}{round(blue * 255):02x}")
    return found


def frames(population: Population) -> dict[str, ChartFrame]:
    """Both charts' axes for what the population holds now."""
    y = number_axis(population.objectives.low, population.objectives.high)
    return {
        "iteration": ChartFrame(number_axis(population.iterations.low, population.iterations.high, integer=True), y, 0.0),
        "time": ChartFrame(time_axis(population.times.low, population.times.high), y, population.time_origin or 0.0),
    }


def transform(frame: ChartFrame) -> str:
    """The matrix that maps (x less origin, objective) onto the plot area."""
    scale_x = PLOT_WIDTH / (frame.x.high - frame.x.low)
    scale_y = PLOT_HEIGHT / (frame.y.high - frame.y.low)
    return (f"matrix({scale_x:.9g} 0 0 {-scale_y:.9g} {LEFT + (frame.origin - frame.x.low) * scale_x:.9g} "
            f"{TOP + PLOT_HEIGHT + frame.y.low * scale_y:.9g})")


def _xs(line: Line, kind: str) -> array[int] | array[float]:
    return line.iterations if kind == "iteration" else line.times


def _resumed_at(kind: str, policy: Policy, line: Line) -> set[int]:
    """Where the time chart lifts the pen: a resumed attempt's first point, so that the time a policy lay
    crashed or waited in the queue is a gap, not a slope."""
    if kind != "time":
        return set()
    found = set()
    for attempt in policy.attempts:
        if attempt.attempt >= 2 and attempt.started is not None:
            index = line.first_written_from(attempt.started)
            if index:
                found.add(index)
    return found


def line_path(kind: str, policy: Policy, line: Line, frame: ChartFrame) -> str:
    """A whole line, thinned to what the plot area's pixels can show."""
    xs = _xs(line, kind)
    sorted_xs = kind == "iteration" or line.times_sorted
    indices = (decimated(xs, line.objectives, frame.x.low, frame.x.high, _COLUMNS) if sorted_xs
               else list(range(len(line))))
    breaks = _resumed_at(kind, policy, line)
    if breaks:
        indices = sorted(set(indices) | breaks)
    data = path_data(xs, line.objectives, indices, frame.origin if kind == "time" else 0.0, breaks=breaks)
    return (f'<path id="{kind}-{policy.experiment_id}-{line.number}" class="line" data-policy="{policy.index}" '
            f'd="{data or "M0 0"}" stroke="{policy.colour}" fill="none" stroke-width="1.5" '
            f'vector-effect="non-scaling-stroke"><title>{escape(policy.label)}, life {line.number}</title></path>')


def line_tail(kind: str, policy: Policy, line: Line, start: int, frame: ChartFrame) -> str:
    """Path data of the line's points from index `start`, to append to what a page holds."""
    xs = _xs(line, kind)
    return path_data(xs, line.objectives, range(start, len(line)), frame.origin if kind == "time" else 0.0,
                     start_with_move=False, breaks=_resumed_at(kind, policy, line))


def _axes_svg(kind: str, frame: ChartFrame) -> str:
    parts = ['<g class="axes" font-size="11" fill="#333">']
    x_scale = PLOT_WIDTH / (frame.x.high - frame.x.low)
    y_scale = PLOT_HEIGHT / (frame.y.high - frame.y.low)
    for value, label in frame.x.ticks:
        x = LEFT + (value - frame.x.low) * x_scale
        parts.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{TOP + PLOT_HEIGHT}" stroke="#e4e4e4"/>'
                     f'<text x="{x:.1f}" y="{TOP + PLOT_HEIGHT + 15}" text-anchor="middle">{escape(label)}</text>')
    for value, label in frame.y.ticks:
        y = TOP + PLOT_HEIGHT - (value - frame.y.low) * y_scale
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + PLOT_WIDTH}" y2="{y:.1f}" stroke="#e4e4e4"/>'
                     f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(label)}</text>')
    parts.append(f'<rect x="{LEFT}" y="{TOP}" width="{PLOT_WIDTH}" height="{PLOT_HEIGHT}" fill="none" stroke="#999"/>')
    x_title = "iteration" if kind == "iteration" else "time of the iteration file (UTC)"
    parts.append(f'<text x="{LEFT + PLOT_WIDTH / 2:.0f}" y="{HEIGHT - 6}" text-anchor="middle">{x_title}</text>')
    parts.append(f'<text transform="translate(14 {TOP + PLOT_HEIGHT / 2:.0f}) rotate(-90)" text-anchor="middle">'
                 'true objective</text></g>')
    return "".join(parts)


def symbol(kind: str, x: float, y: float) -> str:
    """A mark's shape centred on (x, y), in pixels."""
    if kind == REPLACEMENT:
        return f'<path d="M{x - 5:.1f} {y - 4:.1f}h10l-5 8z" fill="#111"/>'
    if kind == RESTART:
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="#fff" fill-opacity="0.6" stroke="#111" stroke-width="1.5"/>'
    if kind == ATTEMPT:
        return (f'<rect x="{x - 5:.1f}" y="{y - 5:.1f}" width="10" height="10" fill="none" stroke="#2ca02c" '
                'stroke-width="2"/>')
    colour = "#d62728" if kind == CRASH else "#555"
    return (f'<path d="M{x - 5:.1f} {y - 5:.1f}l10 10m0 -10l-10 10" stroke="{colour}" stroke-width="2.5" '
            'fill="none"/>')


def marks_svg(kind: str, frame: ChartFrame, marks: list[ChartMark]) -> str:
    """Every mark, in pixels, each with the sentence a person reads on hovering over it."""
    parts = ['<g class="marks">']
    x_scale = PLOT_WIDTH / (frame.x.high - frame.x.low)
    y_scale = PLOT_HEIGHT / (frame.y.high - frame.y.low)
    noted = sum(mark.kind == REPLACEMENT for mark in marks) <= _NOTED_DONORS
    for mark in marks:
        x_value = mark.iteration if kind == "iteration" else mark.written
        if math.isnan(x_value):
            continue
        x = LEFT + (x_value - frame.x.low) * x_scale
        y = TOP + PLOT_HEIGHT - (mark.objective - frame.y.low) * y_scale
        donor = ""
        if mark.kind == REPLACEMENT and noted:
            donor = f'<text x="{x:.1f}" y="{y + 16:.1f}" text-anchor="middle" font-size="10">{escape(mark.note)}</text>'
        parts.append(f'<g class="mark {mark.kind}" data-experiment="{mark.experiment_id}">'
                     f'<title>{escape(mark.title)}</title>{symbol(mark.kind, x, y)}{donor}</g>')
    parts.append("</g>")
    return "".join(parts)


def chart_svg(kind: str, population: Population, frame: ChartFrame, marks: list[ChartMark]) -> str:
    """The whole chart, as a page's first load and a stale page take it."""
    lines = [line_path(kind, policy, line, frame) for policy in population.policies.values() for line in policy.lines
             if len(line)]
    empty = "" if lines else (f'<text x="{LEFT + PLOT_WIDTH / 2}" y="{TOP + PLOT_HEIGHT / 2}" text-anchor="middle" '
                              'class="empty">no iteration with an objective on record yet</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="chart-{kind}" data-chart="{kind}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{CHARTS[kind]}">'
            f'{_axes_svg(kind, frame)}'
            f'<clipPath id="clip-{kind}"><rect x="{LEFT}" y="{TOP}" width="{PLOT_WIDTH}" height="{PLOT_HEIGHT}"/>'
            f'</clipPath><g clip-path="url(#clip-{kind})"><g class="lines" transform="{transform(frame)}">'
            f'{"".join(lines)}</g></g>{marks_svg(kind, frame, marks)}{empty}</svg>')


def whole_chart(kind: str, population: Population) -> str:
    """The chart as it stands, drawn once for every page that loads before the population changes again."""
    key = (kind, population.generation, population.view, population.frame)
    if key not in population.drawn:
        population.drawn = {held: text for held, text in population.drawn.items() if held[0] != kind}
        population.drawn[key] = chart_svg(kind, population, population.frames[kind], population.marks)
    return population.drawn[key]


def axes_svg(kind: str, frame: ChartFrame) -> str:
    return _axes_svg(kind, frame)
