"""What to tell the user when the record stops being writable in the middle of a launch.

By then some jobs are in Slurm and every intent is on record, each sbatch
carrying its tag. Launching again would queue the sent jobs a second time;
`pbt-track sync` finds them by their tags (and marks the experiments never
sent SUBMIT_FAILED), and `resubmit-failed` then sends exactly those.
"""

from __future__ import annotations

import shlex
from pathlib import Path


def stopped_launch_message(workdir: Path, job_ids: list[str], calls: int, total: int, cause: str) -> str:
    """One line: what went wrong, what reached Slurm, and the recovery that queues nothing twice."""
    reached = f"job(s) {' '.join(job_ids)} reached Slurm" if job_ids else "no job id was returned"
    where = shlex.quote(str(workdir))
    return (
        f"the launch stopped after {calls} of {total} sbatch call(s), because the record could not be written "
        f"({cause.split(';')[0]}); {reached}. Do not launch again, that would queue them twice: once the "
        f"database is writable, run `pbt-track sync --workdir {where}` (it finds the sent jobs by their tags), "
        f"then `pbt-track resubmit-failed --workdir {where}` for the experiments not sent"
    )
