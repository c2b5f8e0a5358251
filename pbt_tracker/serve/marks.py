"""Where the charts mark what happened to a policy: replacements, restarts, resumes, crashes and cancels.

The places follow `plot`'s rules (`plot.data.policy_plot`): a replacement
sits on the point of the iteration after which the policy took the donor's
weights, written by the attempt whose log said so; a new life at its first
point; a later attempt at the first point written after it started. The
iteration files know nothing of how an attempt ended, so a crash or a cancel
sits on the last point written before the attempt's end.
"""

from __future__ import annotations

from typing import NamedTuple

from pbt_tracker import states
from pbt_tracker.plot.data import ATTEMPT, REPLACEMENT, RESTART
from pbt_tracker.serve.population import Policy

__all__ = ["CANCEL", "CRASH", "KINDS", "LEGEND", "ChartMark", "marks_of"]

CRASH = "crash"
CANCEL = "cancel"
KINDS = (REPLACEMENT, RESTART, ATTEMPT, CRASH, CANCEL)
LEGEND = {
    REPLACEMENT: "took another policy's weights",
    RESTART: "restarted from scratch (new life)",
    ATTEMPT: "resumed (a later attempt)",
    CRASH: "crashed or stopped (failed, time limit, node)",
    CANCEL: "cancelled",
}
_STOPPED = frozenset(states.FINAL) - {states.COMPLETED, states.CANCELLED, states.PRINT_ONLY, states.SUBMIT_FAILED}


class ChartMark(NamedTuple):
    kind: str
    experiment_id: int
    iteration: int
    written: float  # NaN where the file's time is not on record
    objective: float
    title: str  # what a person reads on hovering over it
    note: str = ""  # a replacement's donor, written under its mark


def marks_of(policy: Policy) -> list[ChartMark]:
    """Every mark of the policy, in the order of KINDS."""
    found: list[ChartMark] = []
    label = policy.label
    for replacement in policy.replacements:
        if replacement.donor is None or replacement.donor == policy.index or replacement.iteration is None:
            continue  # a policy restarting from its own weights only had its hyperparameters changed
        point = _point_of_replacement(policy, replacement.iteration, replacement.attempt_started)
        if point is not None:
            found.append(_mark(REPLACEMENT, policy, point, f"{label} took policy {replacement.donor}'s weights "
                                                           f"after iteration {replacement.iteration}",
                               str(replacement.donor)))
    for line in policy.lines[1:]:
        if len(line):
            found.append(_mark(RESTART, policy, (line, 0), f"{label} restarted from scratch: life {line.number} "
                                                           f"({line.life or 'unnamed'})"))
    for attempt in policy.attempts:
        if attempt.attempt >= 2 and attempt.started is not None:
            point = _first_written_from(policy, attempt.started)
            if point is not None:
                found.append(_mark(ATTEMPT, policy, point, f"{label} resumed as attempt {attempt.attempt}"))
    for attempt in policy.attempts:
        kind = CANCEL if attempt.state == states.CANCELLED else CRASH if attempt.state in _STOPPED else None
        if kind is None or attempt.ended is None:
            continue
        point = _last_written_by(policy, attempt.ended)
        if point is not None:
            code = "" if attempt.exit_code is None else (
                f" (exit {attempt.exit_code}" + (f":{attempt.exit_signal}" if attempt.exit_signal is not None else "") + ")")
            found.append(_mark(kind, policy, point, f"{label}: attempt {attempt.attempt} ended {attempt.state}{code}"))
    return found


def _mark(kind: str, policy: Policy, point: tuple, title: str, note: str = "") -> ChartMark:
    line, index = point
    return ChartMark(kind, policy.experiment_id, line.iterations[index], line.times[index], line.objectives[index], title,
                     note)


def _point_of_replacement(policy: Policy, iteration: int, started: float | None) -> tuple | None:
    """Of the points of that iteration (one per life), the first written after the attempt began, else the last."""
    candidates = [(line.times[index], line.number, line, index) for line in policy.lines
                  if (index := line.at_iteration(iteration)) is not None]
    candidates.sort(key=lambda candidate: candidate[:2])
    for written, _number, line, index in candidates:
        if started is None or written >= started:
            return line, index
    return (candidates[-1][2], candidates[-1][3]) if candidates else None


def _first_written_from(policy: Policy, moment: float) -> tuple | None:
    found = [(line.times[index], line.number, line, index) for line in policy.lines
             if (index := line.first_written_from(moment)) is not None]
    return min(found, key=lambda item: item[:2])[2:] if found else None


def _last_written_by(policy: Policy, moment: float) -> tuple | None:
    found = [(line.times[index], line.number, line, index) for line in policy.lines
             if (index := line.last_written_by(moment)) is not None]
    return max(found, key=lambda item: item[:2])[2:] if found else None
