"""Which submissions whose sbatch answer was lost are over: their submitter gone, and no sbatch still sending them.

Read before a sync's listing starts (`listing.start_listing`): an sbatch that
finishes in between then shows its job in that listing, rather than being
taken for one that never reached Slurm. Settling them is `recover`'s.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from pbt_tracker import processes, states
from pbt_tracker.backends.slurm.tags import TAG_PREFIX, array_tag, submission_tag, tag_argument
from pbt_tracker.processes import ProcessId
from pbt_tracker.store.connection import parse_time

if TYPE_CHECKING:
    from pbt_tracker.backends.base import SyncResult
    from pbt_tracker.store.sync import UnansweredSubmission

# Records written before launches found a running sbatch by its tag noted the sbatch's pid,
# with its start taken from the boot clock at spawn time, a tick or two off the real one.
SUBMIT_TICKS = 50


class Orphan(NamedTuple):
    submission_id: int
    tag: str
    username: str
    launched_at: datetime
    array_task: int | None = None
    refused: bool = False  # sbatch answered a refusal: looked for, never made uncertain


def orphans_of(rows: list[UnansweredSubmission], result: SyncResult) -> list[Orphan]:
    """The unanswered submissions whose sbatch is over: a submitter still at work is left alone."""
    here = processes.hostname()
    orphans = []
    in_flight = 0
    elsewhere: set[str] = set()
    sending: set[str] | None = None  # the tags on running sbatch command lines, read once
    for row in rows:
        if row.host and row.host != here:
            elsewhere.add(row.host)
            continue
        if row.state not in (states.SUBMIT_UNCERTAIN, states.SUBMIT_FAILED):  # those were answered: none to wait for
            if row.runner_pid and processes.is_running(ProcessId(row.runner_pid, row.runner_start, here)):
                continue  # its submitter is still at work
        launched = parse_time(row.launched_at)
        assert launched is not None
        refused = row.state == states.SUBMIT_FAILED
        if row.array_id is None:
            orphan = Orphan(row.id, submission_tag(row.uuid, row.id), row.username, launched, refused=refused)
        else:
            orphan = Orphan(row.id, array_tag(row.uuid, row.array_id), row.username, launched, row.array_task,
                            refused)
        if sending is None:
            sending = processes.arguments_in_flight(tag_argument(TAG_PREFIX))
        if tag_argument(orphan.tag) in sending or (
            row.submit_pid
            and processes.is_running(ProcessId(row.submit_pid, row.submit_pid_start, here), tolerance=SUBMIT_TICKS)
        ):
            in_flight += 1  # the submitter died, but its sbatch may still create the job
            continue
        orphans.append(orphan)
    result.notes += [f"submissions from {host} that are not settled can only be checked there" for host in sorted(elsewhere)]
    if in_flight:
        result.notes.append(f"{in_flight} submission(s) are still being sent; sync again when their sbatch is done")
    return orphans
