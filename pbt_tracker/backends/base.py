"""What a backend is to the rest of pbt-track: a name, a few facts, and the hooks that differ per backend.

Commands ask the registry (`pbt_tracker.backends`) for the backend a launch
recorded and use what it says, rather than comparing backend names, so that
a backend is added in one place. Implementations import their machinery
inside the hooks: `report` and shell completion read these facts on every
start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from pbt_tracker.store import Store
    from pbt_tracker.tracker.record import Echo, SubmittedJob
    from pbt_tracker.tracker.sync import SyncResult

# How resubmit-failed sends a failed experiment's next attempt.
SCRIPT = "script"  # its recorded script again, through the scheduler (or a continuation script)
LOCAL = "local"  # its command again as a local process, in the foreground
COMMAND = "command"  # its recorded submission command again, as it was


class Backend(Protocol):
    name: str
    follows_jobs: bool  # sync keeps asking about its jobs after submission
    requeues_jobs: bool  # the scheduler may run an ended job again under the same id (NODE_FAIL, ...)
    cancels_with_scancel: bool  # its jobs are Slurm jobs: one scancel call stops them
    stops_locally: bool  # its jobs are processes of one host, stopped there by signal
    cancel_advice: str | None  # set where pbt-track cannot cancel its jobs: how to cancel them instead
    report_note: str | None  # one line under a report that shows its jobs
    log_advice: str | None  # set where its jobs' logs are not on this machine: where to read them
    resubmission: str  # SCRIPT, LOCAL or COMMAND

    def sync(self, store: Store, result: SyncResult) -> None:
        """Bring its jobs' states up to date in the record, adding to `result`."""

    def resend(self, store: Store, jobs: list[tuple[int, str, list[str]]], echo: Echo) -> list[SubmittedJob]:
        """COMMAND resubmission: run each recorded (submission id, experiment, argv) and record its answer."""

    def check_available(self) -> None:
        """Before a resubmission is recorded: refuse in one line when its submission program is missing."""
