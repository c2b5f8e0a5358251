"""Resubmitting failed NGC submissions: each one's recorded command again, as it was."""

from __future__ import annotations

import sqlite3

from pbt_tracker.backends.ngc.launch import record_next_attempt, send_commands
from pbt_tracker.backends.resubmission import ResubmitRequest, ResubmitResult
from pbt_tracker.store import Store
from pbt_tracker.store.next_attempts import PriorAttempt


class CommandResubmitter:
    def __init__(self, store: Store, request: ResubmitRequest, result: ResubmitResult) -> None:
        self.store, self.request, self.result = store, request, result
        self.commands: list[tuple[int, str, list[str]]] = []  # (submission id, experiment, argv) to send

    def plan(self, connection: sqlite3.Connection, row: PriorAttempt, attempt: int) -> None:
        self.result.planned.append((row.name, attempt))
        if not self.request.dry_run:
            self.commands.append(record_next_attempt(connection, row, attempt, self.request.me, self.request.origin))

    def close(self, connection: sqlite3.Connection) -> None:
        """Nothing to refuse or group: each command is sent on its own."""

    def send(self) -> None:
        self.result.jobs += send_commands(self.store, self.commands, self.request.echo, pause_between=0.0)
