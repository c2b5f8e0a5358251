"""Holding an experiment's claim from inside its job: the lock on the descriptor the job script opened.

flock(2) locks belong to the open file, not to the process that took them:
the guard takes the lock on the descriptor its shell opened and exits, and
the lock stays with the shell, the command it `exec`s and every process they
start, until the last of them is gone. On NFS, Linux takes such a lock on the
server (as a lock of the whole file), so two nodes see each other's.

The file also says which job ran the experiment last, as which attempt: a job
that finds its own id there has run it before, whatever its environment
says, and a second job of one sbatch finds that its attempt already ran.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import time
from collections.abc import Callable
from typing import NamedTuple

from pbt_tracker.errors import ClaimError

_RUNNER = re.compile(r"job (\S+) runs \S+ as attempt \d+ \(submission (\d+)\)")


class Runner(NamedTuple):
    """The job that ran the experiment last, and the submission it ran as."""

    job_id: str
    submission_id: int


def runner_line(job_id: str, experiment: str, attempt: int, submission_id: int, host: str, since: str) -> str:
    return f"job {job_id} runs {experiment} as attempt {attempt} (submission {submission_id}) on {host} since {since}"


def claim_path(fd: int) -> str:
    """The file the descriptor is open on, for messages; the descriptor itself where /proc cannot say."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return f"descriptor {fd}"


def take_claim(fd: int, wait: float, waiting: Callable[[str | None], None]) -> bool:
    """Lock the claim, waiting up to `wait` seconds for whoever holds it; whether it was taken.

    `waiting(holder)` is called once, when the claim is held by another, with
    what that job wrote in the file.
    """
    deadline = time.monotonic() + wait
    told = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            pass
        except OSError as error:
            raise ClaimError(_lock_failure(fd, error)) from None
        if not told:
            waiting(last_runner_line(fd))
            told = True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(0.2, left))


def _lock_failure(fd: int, error: OSError) -> str:
    if error.errno == errno.EBADF:
        return (f"descriptor {fd} is not open on a claim file; `pbt-track guard` is run by the lines pbt-track "
                "writes into job scripts, after they open it")
    return (f"cannot lock the claim file {claim_path(fd)}: {error.strerror}; its filesystem must support flock "
            "locks across nodes (README: Guarantees)")


def last_runner_line(fd: int) -> str | None:
    """What the job that ran the experiment last wrote in the claim file, if anything."""
    try:
        with open(claim_path(fd), encoding="utf-8", errors="replace") as handle:
            line = handle.readline().strip()
    except OSError:
        return None
    return line or None


def last_runner(fd: int) -> Runner | None:
    """Which job ran the experiment last, as which submission; None when the file does not say."""
    found = _RUNNER.match(last_runner_line(fd) or "")
    return Runner(found.group(1), int(found.group(2))) if found else None


def write_runner(fd: int, line: str) -> None:
    """Say in the claim file which job runs the experiment now, for the next job that finds the claim held."""
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{line}\n".encode())
    except OSError:
        pass  # a note for people and for the next start; the lock itself is what matters
