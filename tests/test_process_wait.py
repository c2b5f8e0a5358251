"""Waiting for local processes to end: on their pidfds, never longer than needed, never for a stranger."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import pytest

from pbt_tracker.process_wait import wait_until_ended
from pbt_tracker.processes import ProcessId, hostname, is_running, start_ticks


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(["sleep", "60"])
    yield process
    process.kill()
    process.wait()


def _id(process: subprocess.Popen[bytes]) -> ProcessId:
    return ProcessId(process.pid, start_ticks(process.pid), hostname())


def test_the_wait_ends_when_the_process_does_not_when_the_grace_does(sleeper: subprocess.Popen[bytes]) -> None:
    target = _id(sleeper)
    began = time.monotonic()
    sleeper.terminate()
    assert wait_until_ended([target], 60, is_running) == []
    assert time.monotonic() - began < 30  # ended by the signal, long before the 60 s it was allowed


def test_a_process_still_running_at_the_limit_is_returned(sleeper: subprocess.Popen[bytes]) -> None:
    target = _id(sleeper)
    assert wait_until_ended([target], 0.2, is_running) == [target]
    assert is_running(target)


def test_a_pid_now_held_by_another_process_is_not_waited_for(sleeper: subprocess.Popen[bytes]) -> None:
    stranger = ProcessId(sleeper.pid, (start_ticks(sleeper.pid) or 0) + 1000, hostname())
    began = time.monotonic()
    assert wait_until_ended([stranger], 60, is_running) == []
    assert time.monotonic() - began < 30
    assert sleeper.poll() is None  # the stranger was left alone


def test_a_pid_that_is_gone_is_not_waited_for() -> None:
    process = subprocess.Popen(["true"])
    process.wait()  # reaped: the pid names no process now
    assert wait_until_ended([ProcessId(process.pid, None, hostname())], 60, is_running) == []
