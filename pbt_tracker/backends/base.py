"""What a backend is to the rest of pbt-track: a name, a few facts, and the hooks that differ per backend.

Commands ask the registry (`pbt_tracker.backends`) for the backend a launch
recorded and use what it says, rather than comparing backend names, so that
a backend is added in one place: its folder, or a module of its own that is
registered. Everything a launch, a sync, a cancel or a resubmission does
differently per backend is a hook here. Implementations import their
machinery inside the hooks: `report` and shell completion read these facts
on every start.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from pbt_tracker.store.cancel import CancelTarget  # a selected job as the store reads it; a backend stops it

if TYPE_CHECKING:
    import sqlite3
    from datetime import datetime

    from pbt_tracker.backends.resubmission import ResubmitRequest, ResubmitResult
    from pbt_tracker.launch.option_table import Option
    from pbt_tracker.launch.options import LaunchOptions
    from pbt_tracker.run_description import RunDescription
    from pbt_tracker.store import Store
    from pbt_tracker.store.next_attempts import PriorAttempt


# A plain class rather than a dataclass: a cancel's start-up is timed, and defining a dataclass is not free.
class SyncResult:
    """What a sync asked and changed, added up over its backends and steps."""

    __slots__ = ("asked", "changed", "scheduler_calls", "notes")

    def __init__(self) -> None:
        self.asked = 0
        self.changed = 0
        self.scheduler_calls = 0
        self.notes: list[str] = []

    def add(self, other: SyncResult) -> None:
        self.asked += other.asked
        self.changed += other.changed
        self.scheduler_calls += other.scheduler_calls
        self.notes += other.notes


class Stopped(NamedTuple):
    """A backend's answer to stopping its targets; cancel writes it on the request's record."""

    accepted: Sequence[int] = ()  # submissions whose scheduler took the cancel: sync settles them
    refused: Mapping[str, str] = MappingProxyType({})  # job id -> the scheduler's reason for not cancelling it
    returncode: int | None = 0
    stdout: str = ""
    stderr: str = ""
    lost: Mapping[str, str] = MappingProxyType({})  # job id -> how the answer about it was lost: it may have stopped
    settling: Any = None  # what `stop(settle=True)` started asking of the stopped jobs, for `settle_cancelled`


class Resubmitter(Protocol):
    """One backend's share of a resubmit-failed: attempts recorded in its transaction, sent after it commits."""

    def plan(self, connection: sqlite3.Connection, row: PriorAttempt, attempt: int) -> None:
        """Record the failed attempt `row`'s next one (only count it in a dry run), or leave it when it cannot go."""

    def close(self, connection: sqlite3.Connection) -> None:
        """Before the transaction commits: refuse what cannot go (raise, so nothing is kept), group what goes together."""

    def send(self) -> None:
        """After the commit: send the recorded attempts, adding their answers to the result."""


class Backend(Protocol):
    name: str  # what --backend takes and a launch records
    title: str  # how a message to the user names it, or its scheduler ("Slurm")
    follows_jobs: bool  # sync keeps asking about its jobs after submission
    requeues_jobs: bool  # the scheduler may run an ended job again under the same id (NODE_FAIL, ...)
    runs_sbatch_scripts: bool  # its jobs run recorded sbatch scripts: a preview holds them, a job can continue itself
    cancels_before_start: bool  # an attempt queued without a job id yet is cancelled by marking it so
    settles_lost_answers: bool  # sync finds the job of a lost submit answer (by its tag), or proves it absent
    cancel_advice: str | None  # set where pbt-track cannot cancel its jobs: how to cancel them instead
    report_note: str | None  # one line under a report that shows its jobs
    log_advice: str | None  # set where its jobs' logs are not on this machine: where to read them

    # --- launching: its rows of the option table, its options, its launch ---

    def option_rows(self) -> tuple[Option, ...]:
        """Its own launch options, each owned by its name; every `--help` reads them, so they import little."""

    def common_defaults(self) -> Mapping[str, Any]:
        """Shared launch options whose default differs on it, by name (NGC pauses 0 s between submissions)."""

    def launch_options(self, settled: dict[str, Any], recorded: bool) -> LaunchOptions:
        """Its options' dataclass from the table's settled values, refusing bad ones in one line.

        The workdir is its to settle (`launch.options.common_fields` makes it the
        train dir); `recorded` says the values come from a record, maybe an older one.
        """

    def command_python(self, options: LaunchOptions) -> str | None:
        """The interpreter a command's leading `python` runs as, where pbt-track starts the commands itself.

        None where each job's own environment (its template, the scheduler's
        image) decides; said at submit and recorded with the launch.
        """

    def launch(self, run_description: RunDescription, options: LaunchOptions, compact: bool, verbose: bool) -> int:
        """Plan, record and send a run with the options its `launch_options` built, telling the user; the exit code.

        Without `compact` it prints what the original launcher prints; with it,
        `pbt-track submit`'s own shorter output, a line per job only if `verbose`.
        """

    # --- following, stopping and resubmitting its jobs ---

    def sync(self, store: Store, result: SyncResult) -> None:
        """Bring its jobs' states up to date in the record, adding to `result`."""

    def settle_cancelled(self, store: Store, submission_ids: list[int], result: SyncResult,
                         settling: Any = None) -> None:
        """Right after its `stop` accepted these: their states as its scheduler now shows them, added to `result`.

        Only these are asked about, at the least cost the scheduler allows; the
        rest of the workdir waits for the next sync. A SchedulerError leaves them to it.
        `settling` is what `stop(settle=True)` already asked (its `Stopped.settling`).
        """

    def jobs_changed(self, store: Store) -> None:
        """After a command changed which jobs may run: rewrite what it derives from that (Slurm's scancel.sh)."""

    def check_cancel(self, targets: list[CancelTarget]) -> None:
        """Before the request is recorded: refuse in one line targets that cannot be stopped from here."""

    def cancel_command(self, targets: list[CancelTarget]) -> list[str]:
        """The command `stop` will run, recorded with the request before it runs; [] where no command runs."""

    def mark_cancelling(self, connection: sqlite3.Connection, targets: list[CancelTarget], now: datetime) -> None:
        """In the transaction that records the request: what is settled before any job is stopped."""

    def stop(self, store: Store, targets: list[CancelTarget], settle: bool = False) -> Stopped:
        """After the request is on record: stop the targets; a SchedulerError means none is known stopped.

        With `settle`, a backend whose scheduler is asked about the stopped jobs
        may start asking as soon as they are stopped (`Stopped.settling`), while
        cancel writes the answer down.
        """

    def resubmitter(self, store: Store, request: ResubmitRequest, result: ResubmitResult) -> Resubmitter:
        """What plans and sends the next attempts of its failed experiments."""

    def check_available(self) -> None:
        """Before a resubmission is recorded: refuse in one line when its submission program is missing."""
