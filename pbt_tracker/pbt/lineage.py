"""The population's lineage, read from the lines IsaacGymEnvs' PBT prints when a policy takes other weights.

Which policy a policy continued from is written nowhere but in its log: the
iteration files say what a policy achieved, not whose weights it started the
iteration with. Logs grow while they are read, so the reader works on bytes
from an offset and hands back where to carry on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["LineageRead", "ReplacementEvent", "read_lineage"]

_NEW_ITERATION = re.compile(r"Policy (\d+): New pbt iteration (\d+)!")
_REPLACING = re.compile(r"Replacing underperforming policy (\d+) with (\d+)")
_RESTARTING = re.compile(r"Policy (\d+): Preparing to restart the process with mutated parameters! Checkpoint (.+)")


@dataclass(frozen=True)
class ReplacementEvent:
    """Policy `policy_idx` restarted from `donor_idx`'s weights (its own when only its params were mutated).

    `offset` is where the announcing line starts in the log: with the log, it names the event.
    """

    policy_idx: int
    donor_idx: int
    iteration: int | None
    checkpoint: str
    offset: int


@dataclass(frozen=True)
class LineageRead:
    events: list[ReplacementEvent]
    offset: int


def read_lineage(data: bytes, offset: int = 0) -> LineageRead:
    """Events in the complete lines of `data` from `offset`, and the offset to read from next time.

    A last line without its newline is left for the next read. The next
    offset goes back to the latest ``New pbt iteration`` line of a policy that
    has not restarted since, because an event needs its iteration; an event is
    only ever announced after that line, so no event is read twice, except in
    a log several policies print to, where `ReplacementEvent.offset` tells
    repeats apart.
    """
    end = data.rfind(b"\n", offset) + 1
    if end <= offset:
        return LineageRead([], offset)
    events: list[ReplacementEvent] = []
    iterations: dict[int, tuple[int, int]] = {}
    donors: dict[int, int] = {}
    position = offset
    for raw in data[offset:end].split(b"\n")[:-1]:
        line = raw.decode("utf-8", "replace").rstrip("\r")
        _read_line(line, position, iterations, donors, events)
        position += len(raw) + 1
    pending = [start for _iteration, start in iterations.values()]
    return LineageRead(events, min(pending, default=end))


def _read_line(line: str, position: int, iterations: dict[int, tuple[int, int]], donors: dict[int, int],
               events: list[ReplacementEvent]) -> None:
    match = _NEW_ITERATION.search(line)
    if match is not None:
        iterations[int(match.group(1))] = (int(match.group(2)), position)
        donors.pop(int(match.group(1)), None)
        return
    match = _REPLACING.search(line)
    if match is not None:
        donors[int(match.group(1))] = int(match.group(2))
        return
    match = _RESTARTING.search(line)
    if match is not None:
        policy = int(match.group(1))
        iteration = iterations.pop(policy, (None, 0))[0]
        donor = donors.pop(policy, policy)
        events.append(ReplacementEvent(policy, donor, iteration, match.group(2).strip(), position))
