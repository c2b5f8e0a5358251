"""`pbt-track submit`'s own output for long Slurm launches: a progress line with its ETA, a hint, a summary.

Three hundred sbatch calls one second apart take five minutes; one line per
job hides what matters (how far, how long still, what failed). The original
launcher's output (`python -m pbt_tracker.launcher.run`) is left as it was.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TextIO

from pbt_tracker.backends.slurm.scancel_sh import compact_job_ids

HINT_AFTER_SECONDS = 60


def job_id_ranges(job_ids: Iterable[str]) -> str:
    """Job ids as Slurm users write them: array tasks as `4242_[0-999]`, consecutive plain ids as `7600-7899`."""
    parts: list[str] = []
    start = previous = None
    for job_id in compact_job_ids(job_ids):
        number = int(job_id) if job_id.isdigit() else None
        if number is not None and previous is not None and number == previous + 1:
            previous = number
            continue
        if previous is not None:
            parts.append(str(start) if start == previous else f"{start}-{previous}")
            start = previous = None
        if number is None:
            parts.append(job_id)
        else:
            start = previous = number
    if previous is not None:
        parts.append(str(start) if start == previous else f"{start}-{previous}")
    return " ".join(parts)


def duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


def array_hint(jobs: int, pause: float, arrays: bool) -> str | None:
    """A hint when the pauses between sbatch calls alone take over a minute and arrays were not asked for."""
    waiting = max(0, jobs - 1) * pause
    if arrays or waiting <= HINT_AFTER_SECONDS:
        return None
    return (f"Hint: {jobs} sbatch calls {pause:g} s apart take {duration(waiting)} in pauses alone; "
            "--slurm-array sends them as one job array")


def progress_text(sent: int, total: int, elapsed: float, bar: bool) -> str:
    """`[#####.....] 120/300  ETA 3m00s` on a terminal, `120/300 sent, ETA 3m00s` on a pipe."""
    eta = f"ETA {duration(elapsed / sent * (total - sent))}" if 0 < sent < total else ""
    if not bar:
        return f"{sent}/{total} sent" + (f", {eta}" if eta else "")
    filled = 30 * sent // total if total else 30
    return f"[{'#' * filled}{'.' * (30 - filled)}] {sent}/{total}" + (f"  {eta}" if eta else "")


class Progress:
    """The progress callback of a launch; on Ctrl-C it lets the current sbatch finish and stops before the next."""

    def __init__(self, out: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self.out = out
        self.bar = bool(getattr(out, "isatty", None) and out.isatty())
        self.clock = clock
        self.started = clock()
        self.sent = 0
        self.total = 0
        self.stop_requested = False
        self._step = 0

    def __call__(self, sent: int, total: int) -> None:
        self.sent, self.total = sent, total
        if self.stop_requested and sent < total:
            raise KeyboardInterrupt
        if self.bar:
            end = "\n" if sent == total else ""
            self.out.write("\r" + progress_text(sent, total, self.clock() - self.started, True) + end)
        elif sent and (sent == total or sent * 10 // total > self._step):
            self._step = sent * 10 // total
            self.out.write(progress_text(sent, total, self.clock() - self.started, False) + "\n")
        self.out.flush()

    def request_stop(self, _signum: int, _frame: object) -> None:
        self.stop_requested = True


def interrupted_lines(sent: int, total: int, db_path: object) -> list[str]:
    return [
        f"Interrupted: {sent} of {total} sbatch calls were sent; their job ids are in {db_path} (`pbt-track report`).",
        f"The other {total - sent} were not sent: `pbt-track resubmit-failed` sends them.",
    ]
