"""A PBT decision a policy took but has not saved yet, and whether a continuation can still carry it.

IsaacGymEnvs saves an iteration, then decides: to take a better policy's
weights, or to mutate its own hyperparameters. It carries the decision out by
re-executing its process with a copy of the chosen checkpoint and the new
parameters on its command line, and saves nothing for a while after any
start. Until its next save, that command line is the decision's only account:
a continuation built from the workspace's newest iteration alone goes back to
the weights and parameters the policy had before. So a continuation asks here
whether the policy's latest start is newer than its latest save, and carries
that start's checkpoint and parameters when the copy is still there.

Pure functions of what they are given (the starts' words, an iteration
number, a file's size), tested on literal inputs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "COPY_DIR", "CARRIED", "UNDONE", "DecisionStart", "Pending", "copy_dir", "is_restart_copy", "pending_decision",
    "start_params", "start_value",
]

CARRIED, UNDONE = "carried", "undone"

COPY_DIR = ".pbt-track-tmp"
"""The job's TMPDIR inside the experiment's run dir: IsaacGymEnvs' restart copies land there, on the shared
filesystem, where a continuation on any node finds them."""

_RESTART_KEYS = {"hydra.run.dir", "pbt_restart", "full_experiment_name", "checkpoint"}


@dataclass(frozen=True)
class DecisionStart:
    """A start a policy's log printed: its words, and the decision it carried out (iteration, donor) when known.

    `key` names it in the record: (the attempt whose log printed it, where).
    """

    policy: int
    args: tuple[str, ...]
    iteration: int | None = None
    donor: int | None = None
    key: tuple[int, int] = (0, 0)

    @property
    def checkpoint(self) -> str | None:
        return start_value(self.args, "checkpoint")

    @property
    def experiment_name(self) -> str | None:
        return start_value(self.args, "full_experiment_name")

    @property
    def params(self) -> dict[str, str]:
        return start_params(self.args)

    @property
    def what(self) -> str:
        """``policy 0's weights`` or ``mutated parameters``, with the iteration it followed when known."""
        after = f" after iteration {self.iteration}" if self.iteration is not None else ""
        if self.donor is not None and self.donor != self.policy:
            return f"its replacement by policy {self.donor}'s weights{after}"
        return f"its mutation{after}"


def start_value(args: Sequence[str], key: str) -> str | None:
    """The last value the words give `key` (whatever its Hydra ``+`` prefix), or None."""
    found = None
    for arg in args:
        name, sep, value = arg.partition("=")
        if sep and name.lstrip("+") == key:
            found = value
    return found


def start_params(args: Sequence[str]) -> dict[str, str]:
    """The parameters a restart appended: every ``key=value`` after its last ``++pbt_restart=True`` but its own keys.

    IsaacGymEnvs appends the run dir, ``++pbt_restart=True``, the experiment
    name and the checkpoint, then each parameter; values stay the text it
    printed, which is what a command line carries on.
    """
    marks = [index for index, arg in enumerate(args) if arg.partition("=")[0].lstrip("+") == "pbt_restart"]
    if not marks:
        return {}
    params: dict[str, str] = {}
    for arg in args[marks[-1] + 1:]:
        name, sep, value = arg.partition("=")
        if sep and name.lstrip("+") not in _RESTART_KEYS:
            params[name] = value
    return params


@dataclass(frozen=True)
class Pending:
    """The latest start of a policy that its workspace has not caught up with; `carried` when its copy is there."""

    start: DecisionStart
    carried: bool
    reason: str = field(default="")

    @property
    def message(self) -> str:
        if self.carried:
            return f"carries {self.start.what} (checkpoint {self.start.checkpoint})"
        return f"{self.start.what} is undone: {self.reason}"


def pending_decision(starts: Sequence[DecisionStart], newest_iteration: int | None, live_name: str | None,
                     copy_size: int | None) -> Pending | None:
    """The decision a continuation must carry, or None when the workspace already holds the latest one.

    `starts` are the policy's starts in the order they happened; only those
    from a checkpoint are decisions. The latest is pending while the newest
    iteration file of its life is no newer than the iteration it followed
    (that file was saved just before the decision). A start of another life,
    or one whose iteration is not known, is not taken for pending. `copy_size`
    is the size of the start's checkpoint file, None when it is gone.
    """
    decisions = [start for start in starts if start.checkpoint]
    if not decisions:
        return None
    latest = decisions[-1]
    if latest.iteration is None or (newest_iteration is not None and newest_iteration > latest.iteration):
        return None
    if live_name is not None and latest.experiment_name not in (None, live_name):
        return None
    if not copy_size:
        what = "is gone" if copy_size is None else "is empty"
        return Pending(latest, False, f"its checkpoint copy {latest.checkpoint} {what}")
    return Pending(latest, True)


def copy_dir(run_dir: str | os.PathLike[str]) -> str:
    return os.path.join(os.fspath(run_dir), COPY_DIR)


def is_restart_copy(path: str, experiment_name: str | None, policy: int) -> bool:
    """Whether `path` is laid out as IsaacGymEnvs' restart copy of this policy, ``ige_<user>/<name>_p<idx>/N.pth``.

    Only such a file is ever removed by pbt-track: never a workspace's own checkpoint.
    """
    file = Path(path)
    return (experiment_name is not None and file.suffix == ".pth" and file.stem.isdigit()
            and file.parent.name == f"{experiment_name}_p{policy}" and file.parent.parent.name.startswith("ige_"))
