"""Drawing plot data with matplotlib, and the picture's bytes for a PNG, an SVG or a self-contained HTML page.

matplotlib is an optional extra and slow to import, so it is imported here,
in the functions that draw, and only ever with the Agg canvas: a plot made on
a login node or in a job has no display to open.
"""

from __future__ import annotations

import html
import io
from typing import TYPE_CHECKING, Any

from pbt_tracker.errors import PlotError
from pbt_tracker.plot.data import (
    ATTEMPT,
    CANCEL,
    CRASH,
    KEEPER,
    LEGEND,
    REPLACEMENT,
    RESTART,
    UNDONE,
    Line,
    PlotData,
    legend_labels,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["FORMATS", "MARK_LEGEND", "draw", "output_format", "picture_bytes"]

FORMATS = {".png": "png", ".svg": "svg", ".html": "html"}
MARK_LEGEND = LEGEND
X_LABELS = {"iteration": "iteration", "frame": "frame", "time": "wall-clock time (UTC)"}
_MARK_STYLE: dict[str, dict[str, Any]] = {  # Line2D's keyword arguments, for each kind of LEGEND
    REPLACEMENT: {"marker": "v", "markersize": 7, "color": "black"},
    RESTART: {"marker": "o", "markersize": 8, "markerfacecolor": "none", "markeredgecolor": "black",
              "markeredgewidth": 1.5},
    ATTEMPT: {"marker": "s", "markersize": 8, "markerfacecolor": "none", "markeredgecolor": "red",
              "markeredgewidth": 1.5},
    CRASH: {"marker": "8", "markersize": 8, "color": "red", "markeredgecolor": "black", "markeredgewidth": 0.8},
    CANCEL: {"marker": "8", "markersize": 8, "color": "lightgrey", "markeredgecolor": "black", "markeredgewidth": 0.8},
    KEEPER: {"marker": "D", "markersize": 13, "markerfacecolor": "none", "markeredgecolor": "darkgoldenrod",
             "markeredgewidth": 1.5, "zorder": 2.5},  # hollow and under the others: a crash it answered shows inside
    UNDONE: {"marker": "X", "markersize": 9, "color": "red"},
}
_LEGEND_POLICIES = 16  # more policies than this get no legend entry each: it would hide the plot
_NOTED_DONORS = 40  # more replacements than this are marked without their donor's number
_NOTED_DECISIONS = 20  # more keeper decisions than this are marked without their action written beside them


def output_format(path: str) -> str:
    """png, svg or html, by the file name's ending."""
    for suffix, name in FORMATS.items():
        if path.lower().endswith(suffix):
            return name
    raise PlotError(f"cannot tell what picture to write to {path}: name a file ending in .png, .svg or .html")


def require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise PlotError("plot needs matplotlib: pip install 'pbt-track[plot]'") from None


def draw(data: PlotData) -> Figure:
    """The figure: a line per life of each policy, one colour per policy, and a marker style per kind of mark."""
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 6), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    x = _time_axis(axes) if data.x_axis == "time" else float
    legend = []
    for policy, colour in zip(data.policies, _colours(len(data.policies))):
        for line in policy.lines:
            xs, ys = _with_breaks(line)
            [drawn] = axes.plot(list(map(x, xs)), ys, color=colour, linewidth=1.2, label=policy.label,
                                gid=f"{policy.label} life {line.life}")
            if line.life == 1 and len(data.policies) <= _LEGEND_POLICIES:
                legend.append(drawn)
        for mark in policy.marks:  # a moment after the policy's point, joined to it: whose moment it is
            if mark.since is not None:
                axes.plot([x(mark.since), x(mark.x)], [mark.y, mark.y], color=colour, linewidth=1, linestyle=":",
                          gid=f"{policy.label} until {mark.kind}")
    marks = data.marks
    for kind, label in legend_labels(marks):
        chosen = [mark for mark in marks if mark.kind == kind]
        [drawn] = axes.plot([x(mark.x) for mark in chosen], [mark.y for mark in chosen], linestyle="none",
                            label=label, gid=kind, **{"zorder": 3, **_MARK_STYLE.get(kind, {"marker": "*"})})
        legend.append(drawn)
    replacements = [mark for mark in marks if mark.kind == REPLACEMENT]
    if len(replacements) <= _NOTED_DONORS:
        for mark in replacements:
            axes.annotate(mark.note.removeprefix("from "), (x(mark.x), mark.y), textcoords="offset points",
                          xytext=(0, -16), ha="center", fontsize=8)
    decisions = [mark for mark in marks if mark.kind == KEEPER]
    if len(decisions) <= _NOTED_DECISIONS:
        for mark in decisions:
            axes.annotate(mark.note, (x(mark.x), mark.y), textcoords="offset points", xytext=(0, 11), ha="center",
                          fontsize=7, color="darkgoldenrod")
    axes.set_title(data.title)
    axes.set_xlabel(X_LABELS.get(data.x_axis, data.x_axis))
    axes.set_ylabel("true objective")
    axes.grid(True, alpha=0.3)
    if legend:
        # Beside the axes, not on them: finding the emptiest corner of 640,000 points takes longer than the plot.
        axes.legend(handles=legend, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
    return figure


def _time_axis(axes: Axes) -> Any:
    """Dates on the axis, UTC; what turns a time of the plot data (seconds since the epoch) into matplotlib's days."""
    from datetime import datetime, timezone

    from matplotlib import dates

    locator = dates.AutoDateLocator(tz="UTC")
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(dates.ConciseDateFormatter(locator, tz="UTC"))
    epoch = dates.date2num(datetime(1970, 1, 1, tzinfo=timezone.utc))
    return lambda moment: epoch + moment / 86400.0


def _with_breaks(line: Line) -> tuple[list[float], list[float]]:
    """The line's points with a gap (NaN) before each break, which matplotlib leaves undrawn."""
    if not line.breaks:
        return line.xs, line.ys
    xs, ys, start = [], [], 0
    for end in (*line.breaks, len(line.xs)):
        if start:
            xs.append(float("nan"))
            ys.append(float("nan"))
        xs += line.xs[start:end]
        ys += line.ys[start:end]
        start = end
    return xs, ys


def picture_bytes(figure: Figure, picture_format: str, title: str = "pbt-track plot") -> bytes:
    """The file's contents; an HTML page holds the SVG itself, so it needs nothing beside it."""
    buffer = io.BytesIO()
    if picture_format == "png":
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue().decode("utf-8")
    if picture_format == "svg":
        return svg.encode("utf-8")
    svg = svg[svg.index("<svg"):]
    page = (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{html.escape(title)}</title>\n'
            f"</head>\n<body>\n{svg}</body>\n</html>\n")
    return page.encode("utf-8")


def _colours(count: int) -> list[tuple[float, float, float, float]]:
    from matplotlib import colormaps

    if count <= 10:
        return [colormaps["tab10"](index) for index in range(count)]
    if count <= 20:
        return [colormaps["tab20"](index) for index in range(count)]
    return [colormaps["turbo"](0.05 + 0.9 * index / (count - 1)) for index in range(count)]
