"""The population's lineage, read from the lines IsaacGymEnvs' PBT prints when a policy takes other weights.

Which policy a policy continued from is written nowhere but in its log: the
iteration files say what a policy achieved, not whose weights it started the
iteration with. Nor are the decision's new hyperparameters and checkpoint copy
anywhere but on the command line of the process IsaacGymEnvs re-executes,
which it prints: until the policy's next save, that line is the only account
of the decision a continuation can carry. Logs grow while they are read, so
the reader works on bytes from an offset and hands back where to carry on.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

__all__ = ["LineageRead", "ProcessStart", "ReplacementEvent", "parse_start_args", "read_lineage"]

_NEW_ITERATION = re.compile(r"Policy (\d+): New pbt iteration (\d+)!")
_REPLACING = re.compile(r"Replacing underperforming policy (\d+) with (\d+)")
_RESTARTING = re.compile(r"Policy (\d+): Preparing to restart the process with mutated parameters! Checkpoint (.+)")
_STARTING = re.compile(r"Policy (\d+): Restarting self with args (\[.*\])\s*$")


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
class ProcessStart:
    """The command line policy `policy_idx` re-executed itself with, after its decision `event` (when read with it).

    `args` are the words after the interpreter, as printed; `offset` names the
    start as `ReplacementEvent.offset` names an event.
    """

    policy_idx: int
    args: tuple[str, ...]
    offset: int
    event: ReplacementEvent | None = None


@dataclass(frozen=True)
class LineageRead:
    events: list[ReplacementEvent]
    offset: int
    starts: list[ProcessStart] = field(default_factory=list)


def parse_start_args(text: str) -> tuple[str, ...] | None:
    """The words of a printed Python list of strings (IsaacGymEnvs prints its new argv so); None for anything else."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    if not isinstance(value, list) or not all(isinstance(word, str) for word in value):
        return None
    return tuple(value)


def read_lineage(data: bytes, offset: int = 0) -> LineageRead:
    """Events in the complete lines of `data` from `offset`, and the offset to read from next time.

    A last line without its newline is left for the next read. The next
    offset goes back to the latest ``New pbt iteration`` line of a policy that
    has not restarted since, because an event needs its iteration; an event is
    only ever announced after that line, so no event is read twice, except in
    a log several policies print to, where `ReplacementEvent.offset` tells
    repeats apart. It also goes back (to its iteration's line) for an event
    whose new command line is not printed yet, so that the start is read
    together with its event; such an event is read again then, which its
    offset tells too.
    """
    end = data.rfind(b"\n", offset) + 1
    if end <= offset:
        return LineageRead([], offset)
    read = _Read()
    position = offset
    for raw in data[offset:end].split(b"\n")[:-1]:
        line = raw.decode("utf-8", "replace").rstrip("\r")
        _read_line(line, position, read)
        position += len(raw) + 1
    pending = [start for _iteration, start in read.iterations.values()]
    pending += [held for _event, held in read.restarting.values()]
    return LineageRead(read.events, min(pending, default=end), read.starts)


@dataclass
class _Read:
    events: list[ReplacementEvent] = field(default_factory=list)
    starts: list[ProcessStart] = field(default_factory=list)
    iterations: dict[int, tuple[int, int]] = field(default_factory=dict)  # policy -> (iteration, its line)
    donors: dict[int, int] = field(default_factory=dict)
    # Announced, its start not printed yet: the event, and where to read it again from (its iteration's line).
    restarting: dict[int, tuple[ReplacementEvent, int]] = field(default_factory=dict)


def _read_line(line: str, position: int, read: _Read) -> None:
    iterations, donors, events = read.iterations, read.donors, read.events
    match = _NEW_ITERATION.search(line)
    if match is not None:
        iterations[int(match.group(1))] = (int(match.group(2)), position)
        donors.pop(int(match.group(1)), None)
        read.restarting.pop(int(match.group(1)), None)  # a restart that never came: nothing to wait for
        return
    match = _STARTING.search(line)
    if match is not None:
        args = parse_start_args(match.group(2))
        policy = int(match.group(1))
        if args is not None:
            announced = read.restarting.pop(policy, None)
            read.starts.append(ProcessStart(policy, args, position, announced[0] if announced else None))
        return
    match = _REPLACING.search(line)
    if match is not None:
        donors[int(match.group(1))] = int(match.group(2))
        return
    match = _RESTARTING.search(line)
    if match is not None:
        policy = int(match.group(1))
        iteration, iteration_line = iterations.pop(policy, (None, position))
        donor = donors.pop(policy, policy)
        event = ReplacementEvent(policy, donor, iteration, match.group(2).strip(), position)
        events.append(event)
        read.restarting[policy] = (event, iteration_line)
