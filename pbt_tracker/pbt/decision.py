"""What a resubmission of a PBT policy sends: its continuation from its latest own checkpoint.

Sending a PBT policy's recorded command again starts it over from iteration
0 with new hyperparameters, which throws away days of training; IsaacGymEnvs
continues a policy only through the command its own restart builds. So a
resubmission (by hand or by the keeper) asks `resume_decision` what to send,
and for Slurm records a new script around that command, leaving the launch's
own script as it was.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from pbt_tracker.pbt.resume import continuation_command, find_run_dir, latest_own_entry, override_key
from pbt_tracker.pbt.workspace import find_workspace, policy_index, split_command

__all__ = ["ResumeDecision", "is_pbt_command", "resume_decision"]


@dataclass(frozen=True)
class ResumeDecision:
    """The command a PBT policy's next attempt runs, and from which iteration, when it continues."""

    policy_idx: int
    command: str
    iteration: int | None = None
    checkpoint: str | None = None
    from_scratch: bool = False

    @property
    def continues(self) -> bool:
        return self.iteration is not None

    @property
    def message(self) -> str:
        if self.continues:
            return f"continues policy {self.policy_idx} from iteration {self.iteration} (checkpoint {self.checkpoint})"
        if self.from_scratch:
            return f"policy {self.policy_idx} starts from its original command (--from-scratch)"
        return f"policy {self.policy_idx} has no checkpoint yet: starts from its original command"


def is_pbt_command(cmd: str) -> bool:
    """An IsaacGymEnvs PBT experiment names both its policy and its workspace on its command line."""
    if "pbt.policy_idx=" not in cmd or "pbt.workspace=" not in cmd:
        return False
    keys = {override_key(token) for token in split_command(cmd)}
    return {"pbt.policy_idx", "pbt.workspace"} <= keys


def resume_decision(cmd: str, params: Mapping[str, object], train_dir: str, cwd: str | None,
                    from_scratch: bool = False) -> ResumeDecision | None:
    """What the experiment's next attempt runs; None for an experiment that is not a PBT policy.

    `cwd` is the directory the launch ran from, which relative run dirs and
    workspaces are taken from, as the job itself took them.
    """
    if not is_pbt_command(cmd):
        return None
    policy = policy_index(dict(params), cmd)
    if policy is None:
        return None
    if from_scratch:
        return ResumeDecision(policy, cmd, from_scratch=True)
    workspace = find_workspace(cmd, train_dir, cwd)
    entry = latest_own_entry(workspace, policy) if workspace is not None else None
    continuation = continuation_command(cmd, entry, find_run_dir(cmd, train_dir, cwd))
    if entry is None:
        return ResumeDecision(policy, continuation.command)
    checkpoint = os.path.abspath(entry.path.parent / f"{entry.iteration:06d}.pth")
    return ResumeDecision(policy, continuation.command, entry.iteration, checkpoint)
