"""Axis bounds and ticks a person reads at a glance: round numbers, and times on whole minutes, hours or days.

The bounds are the ticks' outermost values, so they move only when the data
passes a round number: a page then gets new axes, and otherwise keeps its own.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import NamedTuple

__all__ = ["Axis", "number_axis", "time_axis"]

_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)
_TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
               2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400)


class Axis(NamedTuple):
    low: float
    high: float
    ticks: tuple[tuple[float, str], ...]  # (value, label)


def number_axis(low: float | None, high: float | None, count: int = 6, integer: bool = False) -> Axis:
    """Bounds on round numbers around [low, high], with about `count` ticks between them."""
    if low is None or high is None:
        low, high = 0.0, 1.0
    if high <= low:
        spread = abs(low) * 0.1 or 1.0
        low, high = low - spread, high + spread
    raw = (high - low) / max(count, 1)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(candidate * magnitude for candidate in _STEPS if candidate * magnitude >= raw)
    if integer:
        step = max(1.0, round(step))
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    values = [index * step for index in range(first, last + 1)]
    return Axis(values[0], values[-1], tuple((value, _number_label(value, step)) for value in values))


def _number_label(value: float, step: float) -> str:
    if abs(value) < step * 1e-6:
        return "0"
    if abs(value) >= 1e6 or abs(value) < 1e-3:
        return f"{value:.3g}"
    decimals = len(f"{step:.12f}".rstrip("0").partition(".")[2])  # as many as the step needs: 0.025 needs three
    return f"{value:.{decimals}f}"


def time_axis(low: float | None, high: float | None, count: int = 6) -> Axis:
    """Bounds on whole steps of time (seconds since the epoch) around [low, high]; labels in UTC."""
    if low is None or high is None:
        low = high = 0.0
    if high - low < 1:
        low, high = low - 30, high + 30
    raw = (high - low) / max(count, 1)
    step = next((candidate for candidate in _TIME_STEPS if candidate >= raw), _TIME_STEPS[-1])
    first, last = math.floor(low / step), math.ceil(high / step)
    values = [float(index * step) for index in range(first, last + 1)]
    span_days = values[-1] - values[0] >= 86400
    return Axis(values[0], values[-1], tuple((value, _time_label(value, step, span_days)) for value in values))


def _time_label(value: float, step: float, span_days: bool) -> str:
    moment = datetime.fromtimestamp(value, timezone.utc)
    if step >= 86400:
        return moment.strftime("%m-%d")
    if span_days:
        return moment.strftime("%m-%d %H:%M")
    return moment.strftime("%H:%M:%S" if step < 60 else "%H:%M")
