"""Settings read from the environment when they are needed, so a bad value is a clear error, not a crash."""

from __future__ import annotations

import math
import os

from pbt_tracker.errors import OptionError


def seconds(name: str, default: float) -> float:
    text = os.environ.get(name, "")
    if not text.strip():
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise OptionError(f"{name} must be a number of seconds, not {text!r}; fix or unset it")
    return value


def busy_timeout() -> float:
    return seconds("PBT_TRACK_BUSY_TIMEOUT", 30.0)


def scheduler_timeout() -> float:
    return seconds("PBT_TRACK_SCHEDULER_TIMEOUT", 60.0)


def sacct_timeout() -> float:
    return seconds("PBT_TRACK_SACCT_TIMEOUT", 20.0)


def kill_grace() -> float:
    return seconds("PBT_TRACK_KILL_GRACE", 10.0)


def training_python() -> str | None:
    """PBT_TRACK_PYTHON: the training environment's interpreter when --python is not given (checked where it is used)."""
    return os.environ.get("PBT_TRACK_PYTHON") or None


def claim_wait() -> float:
    """How long a job waits for its experiment's claim: a chain link's predecessor lets go right after its sbatch."""
    return seconds("PBT_TRACK_CLAIM_WAIT", 60.0)


def check_all() -> None:
    """Fail at start on a bad value, rather than half-way through whatever first needs it."""
    for read in (busy_timeout, scheduler_timeout, sacct_timeout, kill_grace, claim_wait):
        read()
