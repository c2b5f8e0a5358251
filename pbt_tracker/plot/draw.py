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
from pbt_tracker.plot.data import ATTEMPT, REPLACEMENT, RESTART, UNDONE, PlotData

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["FORMATS", "MARK_LEGEND", "draw", "output_format", "picture_bytes"]

FORMATS = {".png": "png", ".svg": "svg", ".html": "html"}
MARK_LEGEND = {
    REPLACEMENT: "replaced by policy N",
    RESTART: "restart (new life)",
    ATTEMPT: "resubmitted attempt",
    UNDONE: "decision undone by a continuation",
}
_MARK_STYLE: dict[str, dict[str, Any]] = {  # Line2D's keyword arguments
    REPLACEMENT: {"marker": "v", "markersize": 7, "color": "black"},
    RESTART: {"marker": "o", "markersize": 8, "markerfacecolor": "none", "markeredgecolor": "black",
              "markeredgewidth": 1.5},
    ATTEMPT: {"marker": "s", "markersize": 8, "markerfacecolor": "none", "markeredgecolor": "red",
              "markeredgewidth": 1.5},
    UNDONE: {"marker": "X", "markersize": 9, "color": "red"},
}
_LEGEND_POLICIES = 16  # more policies than this get no legend entry each: it would hide the plot
_NOTED_DONORS = 40  # more replacements than this are marked without their donor's number


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
    legend = []
    for policy, colour in zip(data.policies, _colours(len(data.policies))):
        for line in policy.lines:
            [drawn] = axes.plot(line.xs, line.ys, color=colour, linewidth=1.2, label=policy.label,
                                gid=f"{policy.label} life {line.life}")
            if line.life == 1 and len(data.policies) <= _LEGEND_POLICIES:
                legend.append(drawn)
    marks = data.marks
    for kind, style in _MARK_STYLE.items():
        chosen = [mark for mark in marks if mark.kind == kind]
        if chosen:
            [drawn] = axes.plot([mark.x for mark in chosen], [mark.y for mark in chosen], linestyle="none",
                                label=MARK_LEGEND[kind], gid=kind, zorder=3, **style)
            legend.append(drawn)
    replacements = [mark for mark in marks if mark.kind == REPLACEMENT]
    if len(replacements) <= _NOTED_DONORS:
        for mark in replacements:
            axes.annotate(mark.note.removeprefix("from "), (mark.x, mark.y), textcoords="offset points",
                          xytext=(0, -16), ha="center", fontsize=8)
    axes.set_title(data.title)
    axes.set_xlabel(data.x_axis)
    axes.set_ylabel("true objective")
    axes.grid(True, alpha=0.3)
    if legend:
        # Beside the axes, not on them: finding the emptiest corner of 640,000 points takes longer than the plot.
        axes.legend(handles=legend, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
    return figure


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
