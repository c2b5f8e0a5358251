"""What the keeper knows of one experiment it looks after, read from the record each pass."""

from __future__ import annotations

import os
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
    log_paths: dict[int, str | None] = field(default_factory=dict)  # as recorded: Slurm's %j not filled in

    def last_log_line(self, attempt: Attempt) -> str | None:
        """The last non-empty line its log holds, which usually says why a process died; None if unreadable."""
        from pbt_tracker.report.rows import log_file

        path = log_file(self.log_paths.get(attempt.submission_id), self.job_ids.get(attempt.submission_id))
        if path is None:
            return None
        try:
            with open(path, "rb") as log:
                log.seek(0, os.SEEK_END)
                log.seek(max(0, log.tell() - 4096))
                tail = log.read().decode("utf-8", errors="replace")
        except OSError:
            return None
        lines = [line.strip() for line in tail.splitlines() if line.strip()]
        return lines[-1][:300] if lines else None


def epoch(text: str | None) -> float | None:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp() if text else None
