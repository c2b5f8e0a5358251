"""The columns of a submission's run that a change of state may set along with the state.

A field left at UNSET is not written: a sync that saw only a new pending
reason must not clear the node an earlier one recorded. None is a value
like any other and writes NULL. No `from __future__ import annotations`:
a report that syncs imports this, and a NamedTuple's annotations given as
text are each compiled as it is defined.
"""

from datetime import datetime
from typing import Any, Final, NamedTuple

__all__ = ["UNSET", "RunValues", "Unset"]


class Unset:
    """The type of UNSET, the one value meaning "this column is not written" (compared with `is`)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset()


class RunValues(NamedTuple):
    """What a change of state records of the job besides its state; each field is a submissions column."""

    job_id: str | None | Unset = UNSET
    cluster: str | None | Unset = UNSET
    submit_returncode: int | None | Unset = UNSET
    submit_stdout: str | None | Unset = UNSET
    submit_stderr: str | None | Unset = UNSET
    submitted_at: datetime | None | Unset = UNSET
    host: str | None | Unset = UNSET
    process_start: int | None | Unset = UNSET
    node: str | None | Unset = UNSET
    started_at: datetime | None | Unset = UNSET
    ended_at: datetime | None | Unset = UNSET
    exit_code: int | None | Unset = UNSET
    exit_signal: int | None | Unset = UNSET
    pending_reason: str | None | Unset = UNSET
    unseen_since: datetime | None | Unset = UNSET
    unseen_count: int | Unset = UNSET
    clock_skew: int | None | Unset = UNSET
    partition: str | None | Unset = UNSET
    time_limit: str | None | Unset = UNSET

    def written(self) -> dict[str, Any]:
        """The set columns and their values, in field order."""
        return {column: value for column, value in zip(self._fields, self) if value is not UNSET}
