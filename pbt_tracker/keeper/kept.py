"""What the keeper knows of one experiment it looks after, read from the record each pass."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from pbt_tracker.keeper.rules import Attempt


@dataclass
class Kept:
    """An experiment the keeper looks after, with its attempts oldest first."""

    id: int
    name: str
    params: dict[str, Any]
    cmd: str
    train_dir: str
    cwd: str | None
    backend: str
    job_ids: dict[int, str | None] = field(default_factory=dict)
    attempts: list[Attempt] = field(default_factory=list)


def epoch(text: str | None) -> float | None:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp() if text else None
