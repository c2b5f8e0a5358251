"""Job states: Slurm's own names, plus the few the tracker needs for itself.

A submission's state is one string column, so that users can filter on it in
plain SQL. Every state is either final (the job will not change again on its
own) or may still be active (scancel must reach it); no state is both, none is
neither, so `cancel --all` and scancel.sh can never miss a live job because
its state was left out of a list.

Slurm's states are those of the JOB STATE CODES of the squeue and sacct manual
pages (Slurm 22.05); squeue and sacct spell them the same.
"""

from __future__ import annotations

from collections.abc import Iterable

from pbt_tracker.errors import OptionError, did_you_mean

# --- the tracker's own states ------------------------------------------------------
SUBMITTING = "SUBMITTING"  # recorded as intended; sbatch has not answered yet
SUBMITTED = "SUBMITTED"  # the scheduler accepted it (a job id, unless ngc printed none readable); no state yet
SUBMIT_FAILED = "SUBMIT_FAILED"  # sbatch refused the job, or it was found not to exist
SUBMIT_UNCERTAIN = "SUBMIT_UNCERTAIN"  # sbatch failed in a way that does not prove refusal
PRINT_ONLY = "PRINT_ONLY"  # a dry run: shown, never sent
UNKNOWN = "UNKNOWN"  # not seen by the last sync; asked about again at the next
LOST = "LOST"  # unseen by every source for longer than the cluster's MinJobAge, over several syncs

# --- Slurm's states ----------------------------------------------------------------
BOOT_FAIL = "BOOT_FAIL"
CANCELLED = "CANCELLED"
COMPLETED = "COMPLETED"
COMPLETING = "COMPLETING"
CONFIGURING = "CONFIGURING"
DEADLINE = "DEADLINE"
FAILED = "FAILED"
NODE_FAIL = "NODE_FAIL"
OUT_OF_MEMORY = "OUT_OF_MEMORY"
PENDING = "PENDING"
PREEMPTED = "PREEMPTED"
REQUEUED = "REQUEUED"
REQUEUE_FED = "REQUEUE_FED"
REQUEUE_HOLD = "REQUEUE_HOLD"
RESIZING = "RESIZING"
RESV_DEL_HOLD = "RESV_DEL_HOLD"
REVOKED = "REVOKED"
RUNNING = "RUNNING"
SIGNALING = "SIGNALING"
SPECIAL_EXIT = "SPECIAL_EXIT"
STAGE_OUT = "STAGE_OUT"
STOPPED = "STOPPED"
SUSPENDED = "SUSPENDED"
TIMEOUT = "TIMEOUT"

SHORT = {
    "BF": BOOT_FAIL,
    "CA": CANCELLED,
    "CD": COMPLETED,
    "CF": CONFIGURING,
    "CG": COMPLETING,
    "DL": DEADLINE,
    "F": FAILED,
    "NF": NODE_FAIL,
    "OOM": OUT_OF_MEMORY,
    "PD": PENDING,
    "PR": PREEMPTED,
    "R": RUNNING,
    "RD": RESV_DEL_HOLD,
    "RF": REQUEUE_FED,
    "RH": REQUEUE_HOLD,
    "RQ": REQUEUED,
    "RS": RESIZING,
    "RV": REVOKED,
    "S": SUSPENDED,
    "SE": SPECIAL_EXIT,
    "SI": SIGNALING,
    "SO": STAGE_OUT,
    "ST": STOPPED,
    "TO": TIMEOUT,
}
"""squeue's compact codes (`%t`), as squeue users type them after `-t`."""

SLURM = frozenset(SHORT.values())
"""Every job state squeue and sacct print."""

FINAL = frozenset(
    {
        LOST,
        SUBMIT_FAILED,
        PRINT_ONLY,
        BOOT_FAIL,
        CANCELLED,
        COMPLETED,
        DEADLINE,
        FAILED,
        NODE_FAIL,
        OUT_OF_MEMORY,
        PREEMPTED,
        TIMEOUT,
    }
)
"""States after which this run of the job will not change again on its own.

UNKNOWN is not among them: it means only that no source answered for the job
at the last sync (an empty squeue after a controller restart, a failed sacct),
which is no evidence that the job ended, so the next sync asks again.
SUBMIT_UNCERTAIN is not final either: the job may exist, and its tag decides.
LOST is what UNKNOWN becomes once the job has stayed out of every answer for
longer than Slurm keeps a finished job (MinJobAge) across several syncs:
nothing is left to cancel. It is final for cancel and scancel.sh, but not
against a later answer: sync still asks sacct about the job, and the state
sacct shows replaces LOST.

BOOT_FAIL, NODE_FAIL and PREEMPTED end a run; when Slurm requeues the job, the
job id's newer run (a new sacct row, a new squeue state) takes over, so they
are final for the run they describe.
"""

MAY_BE_ACTIVE = frozenset(
    {
        SUBMITTING,
        SUBMITTED,
        SUBMIT_UNCERTAIN,
        UNKNOWN,
        COMPLETING,
        CONFIGURING,
        PENDING,
        REQUEUED,
        REQUEUE_FED,
        REQUEUE_HOLD,
        RESIZING,
        RESV_DEL_HOLD,
        REVOKED,
        RUNNING,
        SIGNALING,
        SPECIAL_EXIT,
        STAGE_OUT,
        STOPPED,
        SUSPENDED,
    }
)
"""States of jobs that may still hold or wait for resources: scancel must reach them.

Held states (REQUEUE_HOLD, RESV_DEL_HOLD, SPECIAL_EXIT) run once released;
SUSPENDED and STOPPED keep their allocation; REVOKED is how a federation
member shows a job that a sibling cluster started, so it runs there.
"""

MAY_BE_REQUEUED = frozenset({BOOT_FAIL, NODE_FAIL, PREEMPTED})
"""Final states after which Slurm may run the same job id again by itself.

A batch job is requeued on a node or boot failure unless it was sent with
--no-requeue (JobRequeue=1 is Slurm's default), and on preemption under
PreemptMode=REQUEUE. Sync keeps listening for such a job (its requeued run shows
in the same squeue listing) until Slurm has forgotten it: until answers that list
other jobs have lacked it MIN_UNSEEN_SYNCS times, CONFIRM_GAP_SECONDS apart at
least, for a job Slurm no longer knows is never requeued. However long no sync
ran, the watch goes on. The keeper waits before resuming such a job, so that a
policy never runs twice at once.
"""

# Two answers that lack a job, this far apart at least, are evidence about it; closer ones may be one passing fault.
MIN_UNSEEN_SYNCS = 2
CONFIRM_GAP_SECONDS = 20

WAITING = frozenset({PENDING, REQUEUED, REQUEUE_FED, REQUEUE_HOLD, RESV_DEL_HOLD, SPECIAL_EXIT})
"""States of jobs that have no allocation now: start and end times shown for them are guesses."""

KNOWN = FINAL | MAY_BE_ACTIVE
"""Every state a filter may name."""


def parse_states(texts: Iterable[str]) -> tuple[str, ...]:
    """States as squeue's `-t` takes them: repeated or comma-separated, any case, short or long.

    Returns long names, each once, in the order first given.
    """
    found: list[str] = []
    for text in texts:
        words = [part.strip().upper() for part in text.split(",") if part.strip()]
        if not words:
            raise OptionError(f"no job state given; use one of {', '.join(sorted(KNOWN))}")
        for word in words:
            state = SHORT.get(word, word)
            if state not in KNOWN:
                hint = did_you_mean(word, [*sorted(KNOWN), *sorted(SHORT)])
                raise OptionError(f"{word} is not a job state{hint}; use one of {', '.join(sorted(KNOWN))}")
            if state not in found:
                found.append(state)
    return tuple(found)
