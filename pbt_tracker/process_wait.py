"""Waiting for local processes without polling: on their pidfds, and on a pipe the signal handlers write to.

The runner keeps a few experiments going and must notice at once when one
ends, or when Ctrl-C or SIGTERM asks it to stop; `select` over pidfds and a
wakeup pipe sleeps until one of them happens, however long that takes.
A cancel waits the same way for the experiments it signalled, up to its grace.
"""

from __future__ import annotations

import os
import select
import signal
import time
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Protocol, TypeVar


class _Process(Protocol):
    @property
    def pid(self) -> int: ...  # read only: a frozen ProcessId qualifies


_P = TypeVar("_P", bound=_Process)


def wait_until_ended(targets: list[_P], seconds: float, is_running: Callable[[_P], bool]) -> list[_P]:
    """Those of `targets` still running after `seconds`; returns as soon as the last one ends.

    Each target's pidfd is opened before `is_running` checks its start time,
    so that a pid reused by another process in between is not waited for.
    """
    deadline = time.monotonic() + seconds
    waiting: dict[int, _P] = {}
    poller = select.poll()
    try:
        for target in targets:
            try:
                fd = os.pidfd_open(target.pid)
            except ProcessLookupError:
                continue
            if is_running(target):
                waiting[fd] = target
                poller.register(fd, select.POLLIN)
            else:
                os.close(fd)
        while waiting:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            for fd, _ in poller.poll(left * 1000):
                poller.unregister(fd)
                os.close(fd)
                del waiting[fd]
        return list(waiting.values())
    finally:
        for fd in waiting:
            os.close(fd)


class Interrupts:
    """Ctrl-C and SIGTERM raise a flag instead of an exception, for the runner to act on when it is safe.

    An interrupt in the middle of starting or reaping an experiment would
    leave it started but unrecorded, or ended but still RUNNING on record.
    """

    def __init__(self) -> None:
        self.raised = False
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)
        self._previous: dict[int, Callable[[int, FrameType | None], object] | int | None] = {}
        self._previous_wakeup: int | None = None

    def __bool__(self) -> bool:
        return self.raised

    def __enter__(self) -> Interrupts:
        try:
            self._previous = {signum: signal.signal(signum, self._raise) for signum in (signal.SIGINT, signal.SIGTERM)}
            self._previous_wakeup = signal.set_wakeup_fd(self._write)
        except ValueError:  # not the main thread: signals stay as they are
            self._previous = {}
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        if self._previous:
            signal.set_wakeup_fd(self._previous_wakeup if self._previous_wakeup is not None else -1)
            for signum, handler in self._previous.items():
                signal.signal(signum, handler)
        os.close(self._read)
        os.close(self._write)

    def _raise(self, _signum: int, _frame: FrameType | None) -> None:
        self.raised = True

    def wait(self, pids: list[int], seconds: float | None = None) -> None:
        """Until one of `pids` has ended, an interrupt came, or `seconds` passed (None: no limit)."""
        if self.raised:
            return
        fds = []
        try:
            for pid in pids:
                try:
                    fds.append(os.pidfd_open(pid))
                except ProcessLookupError:
                    return  # already gone and reaped: nothing to wait for
            if not fds and seconds is None:
                return
            select.select([*fds, self._read], [], [], seconds)
        finally:
            for fd in fds:
                os.close(fd)
            self._drain()

    def _drain(self) -> None:
        try:
            while os.read(self._read, 512):
                pass
        except BlockingIOError:
            pass
