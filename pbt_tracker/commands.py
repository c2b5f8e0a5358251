"""The one function that runs a scheduler's program: argv lists, never a shell, always a timeout.

Every backend's calls go through `run_command`; its errors say what happened
to the program and nothing more, so that each backend adds its own advice
(a Slurm login node, the NGC CLI) where it calls.
"""

from __future__ import annotations

import os
import select
import subprocess
import time
from functools import lru_cache
from typing import NamedTuple

from pbt_tracker import settings
from pbt_tracker.errors import SchedulerError, SchedulerTimeout


class CommandNotStarted(SchedulerError):
    """The program could not be started at all: nothing was sent."""

    def __init__(self, message: str, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing  # not on PATH, rather than there but unusable


# Named tuples rather than dataclasses: a cancel's start-up is timed, and a tuple class is cheaper to define.
class CommandResult(NamedTuple):
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str



class Deadline:
    """One time-out shared by several calls, so that a command asking squeue, then scontrol, then sacct of a
    controller that hangs waits at most one time-out in all."""

    __slots__ = ("seconds", "end")

    def __init__(self, seconds: float | None = None) -> None:
        self.seconds = settings.scheduler_timeout() if seconds is None else seconds
        self.end = time.monotonic() + self.seconds

    def timeout(self, program: str, cap: float | None = None) -> float:
        """What is left for `program` (at most `cap`); SchedulerTimeout, without running it, when nothing is."""
        left = self.end - time.monotonic()
        if left <= 0:
            raise SchedulerTimeout(f"{program} was not asked: the calls before it took all of the "
                                   f"{self.seconds:g} s time-out")
        return left if cap is None else min(left, cap)


def run_command(argv: list[str], timeout: float | None = None, env: dict[str, str] | None = None) -> CommandResult:
    """Run `argv` (no shell) to its end or its timeout; the caller adds what its user should do about a failure.

    `env` is the environment the program runs with (and hands on, as sbatch
    does to its job); the program itself is found on this process's PATH.
    """
    timeout = settings.scheduler_timeout() if timeout is None else timeout
    executable = None
    if env is not None and env.get("PATH") != os.environ.get("PATH"):
        import shutil  # only senders with a PATH of their own need it; others start without it

        executable = shutil.which(argv[0])
    try:
        process = subprocess.Popen(argv, executable=executable, stdin=_devnull(), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, env=env)
    except FileNotFoundError:
        raise CommandNotStarted(f"{argv[0]} was not found on PATH", missing=True) from None
    except PermissionError:
        raise CommandNotStarted(f"{argv[0]} is not executable") from None
    except OSError as error:
        raise CommandNotStarted(f"{argv[0]} could not be started ({error.strerror})") from None
    with process:
        try:
            stdout, stderr = _output_and_exit(process, time.monotonic() + timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise SchedulerTimeout(f"{argv[0]} did not answer within {timeout:g} s") from None
        except BaseException:
            process.kill()
            process.wait()
            raise
    return CommandResult(argv, process.returncode, _text(stdout), _text(stderr))


@lru_cache(maxsize=1)
def _devnull() -> int:
    """One /dev/null, opened once, for every command's stdin: a launch starts a thousand sbatch calls."""
    return os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)


def _output_and_exit(process: subprocess.Popen[bytes], deadline: float) -> tuple[bytes, bytes]:
    """Both pipes read to their end, then the exit reaped, all before `deadline`.

    Popen.communicate(timeout=...) waits for the exit by polling with sleeps,
    a millisecond lost per sbatch over a launch of thousands; a pidfd (Linux
    5.3) says at once when the program has ended.
    """
    assert process.stdout is not None and process.stderr is not None  # both are pipes
    output: dict[int, list[bytes]] = {process.stdout.fileno(): [], process.stderr.fileno(): []}
    poller = select.poll()
    for fd in output:
        poller.register(fd, select.POLLIN)
    open_fds = set(output)
    while open_fds:
        for fd, _event in poller.poll(_remaining_ms(process, deadline)):
            data = os.read(fd, 65536)
            if data:
                output[fd].append(data)
            else:
                poller.unregister(fd)
                open_fds.discard(fd)
    try:
        exited = os.pidfd_open(process.pid)
    except (AttributeError, OSError):  # not Linux, an old kernel, or already reaped
        process.wait(max(deadline - time.monotonic(), 0))
    else:
        try:
            waiter = select.poll()
            waiter.register(exited, select.POLLIN)
            if not waiter.poll(_remaining_ms(process, deadline)):
                raise subprocess.TimeoutExpired(process.args, 0)
            process.wait()  # the pidfd is readable: the exit is there to reap
        finally:
            os.close(exited)
    stdout, stderr = (b"".join(chunks) for chunks in output.values())
    return stdout, stderr


def _remaining_ms(process: subprocess.Popen[bytes], deadline: float) -> int:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise subprocess.TimeoutExpired(process.args, 0)
    return max(1, int(remaining * 1000))


def _text(data: bytes) -> str:
    return data.decode(errors="replace")
