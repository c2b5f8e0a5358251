"""Telling the user's own command about each keeper event (a chat message, a mail, a pager).

The command is split like a shell splits it but never run by one; the event
goes to it as one JSON object on stdin. Its failure is the user's to see, not
the keeper's to die of: it is returned as one line for the record.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
from typing import Any

from pbt_tracker import settings
from pbt_tracker.errors import OptionError


def event_argv(command: str) -> list[str]:
    try:
        argv = shlex.split(command)
    except ValueError as error:
        raise OptionError(f"--on-event {command!r} cannot be split into words ({error}); fix its quotes") from None
    if not argv:
        raise OptionError("--on-event is empty; give the command to run for each event")
    return argv


def event_timeout() -> float:
    return settings.seconds("PBT_TRACK_EVENT_TIMEOUT", 30.0)


def send_event(argv: list[str], event: dict[str, Any], timeout: float) -> str | None:
    """Run the event command with `event` on stdin; None when it succeeded, else why not in one line."""
    payload = json.dumps(event, sort_keys=True) + "\n"
    try:
        process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   start_new_session=True)
    except OSError as error:
        return f"--on-event {argv[0]} could not be started: {error.strerror}"
    try:
        _stdout, stderr = process.communicate(payload.encode(), timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process.pid)  # its children too, so that none holds the pipe open
        process.communicate()
        return f"--on-event {argv[0]} did not finish within {timeout:g} s and was killed"
    if process.returncode != 0:
        last = (stderr.decode(errors="replace").strip().splitlines() or ["no message"])[-1]
        return f"--on-event {argv[0]} exited with {process.returncode}: {last}"
    return None


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
