"""Which submissions a command is about: the filters shared by report, cancel and resubmit.

Launches of the same experiment names in one workdir supersede each other:
by default a command sees each experiment name once, in the launch that last
submitted it (a preview only while nothing submitted it), and no forgotten
launch. `launch` narrows to one launch; `all_launches` sees every one.

The SQL that applies them lives with the rest of the record's statements,
in `pbt_tracker.store.queries`.
"""

from __future__ import annotations

from typing import NamedTuple


class Selection(NamedTuple):
    """Filters a user gave; empty means "no filter" for each of them."""

    run: str | None = None
    experiments: tuple[str, ...] = ()
    job_ids: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    all_attempts: bool = False
    launch: int | None = None
    all_launches: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "run": self.run,
            "experiments": list(self.experiments),
            "job_ids": list(self.job_ids),
            "states": list(self.states),
            "all_attempts": self.all_attempts,
            "launch": self.launch,
            "all_launches": self.all_launches,
        }

    @property
    def is_empty(self) -> bool:
        return not (self.run or self.experiments or self.job_ids or self.states or self.launch is not None)
