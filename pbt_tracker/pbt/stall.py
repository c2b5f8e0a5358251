"""Whether a running PBT policy has stopped making progress though its job still runs.

A hung policy (a stuck GPU, a dead filesystem, a deadlock in the simulator)
holds its allocation without writing iterations; the scheduler sees nothing
wrong. Its own pace is the measure: policies of different tasks and sizes take
minutes or hours per iteration.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["STALL_FACTOR", "STALL_FLOOR_SECONDS", "Stall", "stall_of"]

STALL_FACTOR = 5.0
"""A PBT restart (process start, simulator set-up, checkpoint load) can take a few iterations' time."""

STALL_FLOOR_SECONDS = 600.0
"""Iterations are observed once per keeper interval, so a fast policy's median says little below minutes."""


@dataclass(frozen=True)
class Stall:
    """`silent_for`: seconds since the latest new iteration was first seen; `limit`: None when unknown."""

    stalled: bool
    silent_for: float | None
    limit: float | None


def stall_of(history: Sequence[tuple[int, float]], now: float, stall_after: float | None = None) -> Stall:
    """Stalled when no new iteration was seen for `stall_after` seconds.

    `history` holds ``(iteration, observed_at)`` as recorded, in any order and
    with repeats. Only a higher iteration than any before counts as progress,
    at the time it was first seen, so pass the current life's history (a
    policy started over climbs again below its old highest). Without `stall_after`, the limit is
    `STALL_FACTOR` times the median time between progress, at least
    `STALL_FLOOR_SECONDS`; with fewer than two steps of progress there is no
    pace to judge by, and the policy is not called stalled.
    """
    progress: list[float] = []
    highest: int | None = None
    for iteration, observed_at in sorted(history, key=lambda item: (item[1], item[0])):
        if highest is None or iteration > highest:
            highest = iteration
            progress.append(observed_at)
    if not progress:
        return Stall(False, None, stall_after)
    silent_for = now - progress[-1]
    limit = stall_after
    if limit is None and len(progress) >= 3:
        gaps = [later - earlier for earlier, later in zip(progress, progress[1:])]
        limit = max(STALL_FACTOR * statistics.median(gaps), STALL_FLOOR_SECONDS)
    return Stall(limit is not None and silent_for > limit, silent_for, limit)
