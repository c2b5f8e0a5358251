"""Job states: Slurm's own names, plus the few the tracker needs for itself.

A submission's state is one string column, so that users can filter on it in
plain SQL; these sets say which of them are over and which count as failures.
"""

# The tracker's own states.
SUBMITTING = "SUBMITTING"  # recorded as intended; the scheduler has not answered yet
SUBMITTED = "SUBMITTED"  # the scheduler gave a job id; no state read back yet
SUBMIT_FAILED = "SUBMIT_FAILED"  # the scheduler refused the job, or gave no id
PRINT_ONLY = "PRINT_ONLY"  # a dry run: shown, never sent
UNKNOWN = "UNKNOWN"  # the scheduler no longer knows the job, or the answer was lost

# Slurm's job states (squeue/sacct/scontrol spell them the same).
PENDING = "PENDING"
RUNNING = "RUNNING"
COMPLETING = "COMPLETING"
COMPLETED = "COMPLETED"
FAILED = "FAILED"
TIMEOUT = "TIMEOUT"
CANCELLED = "CANCELLED"
OUT_OF_MEMORY = "OUT_OF_MEMORY"
NODE_FAIL = "NODE_FAIL"
PREEMPTED = "PREEMPTED"
BOOT_FAIL = "BOOT_FAIL"
DEADLINE = "DEADLINE"
REQUEUED = "REQUEUED"

FINAL = frozenset(
    {
        SUBMIT_FAILED,
        PRINT_ONLY,
        UNKNOWN,
        COMPLETED,
        FAILED,
        TIMEOUT,
        CANCELLED,
        OUT_OF_MEMORY,
        NODE_FAIL,
        PREEMPTED,
        BOOT_FAIL,
        DEADLINE,
    }
)
"""States after which the job will not change again on its own."""

MAY_BE_ACTIVE = frozenset({SUBMITTING, SUBMITTED, PENDING, RUNNING, COMPLETING, REQUEUED})
"""States of jobs that scancel might still have to stop."""

KNOWN = frozenset(
    {SUBMITTING, SUBMITTED, SUBMIT_FAILED, PRINT_ONLY, UNKNOWN, PENDING, RUNNING, COMPLETING, REQUEUED}
) | FINAL
"""Every state a filter may name."""
