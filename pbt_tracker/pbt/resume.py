"""The command that continues a PBT policy from its latest own checkpoint instead of starting it over.

IsaacGymEnvs' PBT treats a command without ``++pbt_restart=True`` as the very
start of an experiment: new hyperparameters, iteration 0, a new experiment
name. It continues a policy only through the command line its own in-process
restart builds, so a resubmission must build that same command line.

Sending a policy's recorded command again would throw away days of training;
so every resubmission (by hand or by the keeper) asks `resume_decision` what
to send, and Slurm records a new script around that command, leaving the
launch's own script as it was. A decision of the PBT algorithm the policy took
after its newest save (`pbt.decisions`) is carried: the continuation starts
from that decision's checkpoint copy with its parameters.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from pbt_tracker.pbt.decisions import DecisionStart, Pending, copy_dir, pending_decision
from pbt_tracker.pbt.workspace import (
    WorkspaceEntry,
    find_workspace,
    live_entry,
    policy_index,
    read_policy_entries,
    run_dir_of,
    split_command,
)

__all__ = [
    "Continuation", "Resumable", "ResumeDecision", "checkpoint_of", "continuation_command", "find_run_dir",
    "is_pbt_command", "latest_own_entry", "policy_tmpdir", "restart_args", "resumable_entry", "resume_decision",
]

_SHELL_OPERATORS = {"&&", "||", ";", "|", "&"}


@dataclass(frozen=True)
class Continuation:
    """The command to send; `reason` says why it is the original one, when it is."""

    command: str
    reason: str | None = None


def continuation_command(original_cmd: str, entry: WorkspaceEntry | None, run_dir: str | os.PathLike[str]) -> Continuation:
    """The original command turned into the continuation of `entry`, the policy's latest own iteration.

    The checkpoint is the one beside the iteration file, ``<workspace>/<idx:03d>/<iteration:06d>.pth``.
    """
    if entry is None:
        return Continuation(original_cmd, "the policy has no checkpoint in its workspace yet")
    checkpoint = os.path.abspath(checkpoint_of(entry))
    args = restart_args(split_command(original_cmd), os.fspath(run_dir), entry.record.experiment_name, checkpoint,
                        entry.record.params)
    return Continuation(join_command(args))


def restart_args(args: Sequence[str], run_dir: str, experiment_name: str | None, checkpoint: str | None,
                 params: Mapping[str, object]) -> list[str]:
    """`args` as IsaacGymEnvs' in-process restart rewrites them: the restart's keys taken out, then appended.

    The appended order is IsaacGymEnvs': the run dir, ``++pbt_restart=True``,
    the experiment name and the checkpoint when known, then every parameter
    formatted as Python prints it. Keys match whatever their Hydra ``+``/``++``
    prefix, so a ``checkpoint=`` or ``+full_experiment_name=`` already in the
    command is replaced, never given twice.
    """
    replaced = {"hydra.run.dir", "pbt_restart", "full_experiment_name", "checkpoint", *(k.lstrip("+") for k in params)}
    kept = [arg for arg in args if not override_key(arg) in replaced]
    kept += [f"hydra.run.dir={run_dir}", "++pbt_restart=True"]
    if experiment_name is not None:
        kept.append(f"+full_experiment_name={experiment_name}")
    if checkpoint is not None:
        kept.append(f"checkpoint={checkpoint}")
    return kept + [f"{key}={value}" for key, value in params.items()]


def find_run_dir(cmd: str, experiment_train_dir: str, cwd: str | None = None) -> Path:
    """The absolute Hydra run dir, found as `pbt_workspace.find_workspace` finds it; relative to `cwd`."""
    return Path(os.path.abspath(run_dir_of(cmd, experiment_train_dir, cwd)))


def policy_tmpdir(cmd: str, train_dir: str, cwd: str | None) -> str | None:
    """The TMPDIR a PBT policy's job gets, inside its run dir; None for any other experiment."""
    if not is_pbt_command(cmd):
        return None
    return copy_dir(find_run_dir(cmd, train_dir, cwd))


def latest_own_entry(workspace: Path, policy_idx: int, experiment_name: str | None = None) -> WorkspaceEntry | None:
    """The policy's newest iteration in `workspace` whose checkpoint is on disk: the one to continue from."""
    return resumable_entry(workspace, policy_idx, experiment_name).entry


class Resumable(NamedTuple):
    """The iteration a continuation starts from, and the newer ones of the same life it had to pass over."""

    entry: WorkspaceEntry | None
    passed_over: tuple[int, ...] = ()  # newest first: iteration files whose checkpoint is missing or empty


def checkpoint_of(entry: WorkspaceEntry) -> Path:
    """The weights IsaacGymEnvs saves beside an iteration file, before it writes that file."""
    return entry.path.parent / f"{entry.iteration:06d}.pth"


def resumable_entry(workspace: Path, policy_idx: int, experiment_name: str | None = None) -> Resumable:
    """The live life's newest iteration whose checkpoint exists and is not empty.

    IsaacGymEnvs writes an iteration's ``.pth`` before its ``.yaml``, so an
    iteration file vouches for a complete checkpoint, until something removes
    or truncates it: its own clean-up racing a save, a user's, a crash of the
    filesystem. A continuation that names a missing checkpoint dies at once
    and wastes an attempt, so such iterations are passed over, and said so.
    """
    entries = read_policy_entries(workspace, policy_idx)
    live = live_entry(entries, experiment_name)
    if live is None:
        return Resumable(None)
    life = sorted(
        (entry for entry in entries
         if entry.kept_by is None and entry.record.experiment_name == live.record.experiment_name
         and entry.iteration <= live.iteration),
        key=lambda entry: (entry.iteration, entry.mtime_ns), reverse=True,
    )
    passed: list[int] = []
    for entry in life:
        if _is_complete(checkpoint_of(entry)):
            return Resumable(entry, tuple(passed))
        passed.append(entry.iteration)
    return Resumable(None, tuple(passed))


def _is_complete(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except OSError:
        return False


def join_command(args: Sequence[str]) -> str:
    """Quotes like ``shlex.join``, but leaves shell operators as operators and ``$`` expansions expanding."""
    return " ".join(_shell_word(arg) for arg in args)


def _shell_word(arg: str) -> str:
    if arg in _SHELL_OPERATORS or shlex.quote(arg) == arg:
        return arg
    if "$" in arg:
        return '"' + "".join("\\" + char if char in '"\\`' else char for char in arg) + '"'
    return shlex.quote(arg)


def override_key(arg: str) -> str | None:
    """The Hydra key an argument sets (`+a.b=1` and `a.b=1` both set `a.b`), or None for a plain word."""
    name, sep, _value = arg.partition("=")
    return name.lstrip("+") if sep else None


@dataclass(frozen=True)
class ResumeDecision:
    """The command a PBT policy's next attempt runs, and from which iteration, when it continues."""

    policy_idx: int
    command: str
    iteration: int | None = None
    checkpoint: str | None = None
    from_scratch: bool = False
    passed_over: tuple[int, ...] = ()  # newer iterations whose checkpoint was missing or empty
    pending: Pending | None = None  # a decision newer than the newest save: carried, or undone and why

    @property
    def passed_over_text(self) -> str:
        if not self.passed_over:
            return ""
        which = ", ".join(str(iteration) for iteration in self.passed_over)
        return f"; passed over iteration(s) {which}, whose checkpoint file is missing or empty"

    @property
    def continues(self) -> bool:
        return self.iteration is not None

    @property
    def message(self) -> str:
        return self._message + (f"; {self.pending.message}" if self.pending is not None else "")

    @property
    def _message(self) -> str:
        if self.pending is not None and self.pending.carried:
            return f"continues policy {self.policy_idx} from its decision after iteration {self.iteration}"
        if self.continues:
            return (f"continues policy {self.policy_idx} from iteration {self.iteration} (checkpoint {self.checkpoint})"
                    + self.passed_over_text)
        if self.from_scratch:
            return f"policy {self.policy_idx} starts from its original command (--from-scratch)"
        if self.passed_over:
            return (f"policy {self.policy_idx} has no checkpoint on disk: starts from its original command"
                    + self.passed_over_text)
        return f"policy {self.policy_idx} has no checkpoint yet: starts from its original command"


def is_pbt_command(cmd: str) -> bool:
    """An IsaacGymEnvs PBT experiment names both its policy and its workspace on its command line."""
    if "pbt.policy_idx=" not in cmd or "pbt.workspace=" not in cmd:
        return False
    keys = {override_key(token) for token in split_command(cmd)}
    return {"pbt.policy_idx", "pbt.workspace"} <= keys


def resume_decision(cmd: str, params: Mapping[str, object], train_dir: str, cwd: str | None,
                    from_scratch: bool = False, starts: Sequence[DecisionStart] = ()) -> ResumeDecision | None:
    """What the experiment's next attempt runs; None for an experiment that is not a PBT policy.

    `cwd` is the directory the launch ran from, which relative run dirs and
    workspaces are taken from, as the job itself took them. `starts` are the
    policy's starts its logs printed (`pbt.starts.known_starts`), oldest first.
    """
    if not is_pbt_command(cmd):
        return None
    policy = policy_index(dict(params), cmd)
    if policy is None:
        return None
    if from_scratch:
        return ResumeDecision(policy, cmd, from_scratch=True)
    workspace = find_workspace(cmd, train_dir, cwd)
    found = resumable_entry(workspace, policy) if workspace is not None else Resumable(None)
    run_dir = find_run_dir(cmd, train_dir, cwd)
    pending = _pending(workspace, policy, starts)
    if pending is not None and pending.carried:
        start = pending.start
        name = start.experiment_name or (found.entry.record.experiment_name if found.entry else None)
        args = restart_args(split_command(cmd), os.fspath(run_dir), name, start.checkpoint, start.params)
        return ResumeDecision(policy, join_command(args), start.iteration, start.checkpoint, pending=pending)
    continuation = continuation_command(cmd, found.entry, run_dir)
    if found.entry is None:
        return ResumeDecision(policy, continuation.command, passed_over=found.passed_over, pending=pending)
    checkpoint = os.path.abspath(checkpoint_of(found.entry))
    return ResumeDecision(policy, continuation.command, found.entry.iteration, checkpoint,
                          passed_over=found.passed_over, pending=pending)


def _pending(workspace: Path | None, policy: int, starts: Sequence[DecisionStart]) -> Pending | None:
    """The policy's latest decision when its workspace has no save after it, with its copy's size read here."""
    mine = [start for start in starts if start.policy == policy]
    if not mine:
        return None
    live = live_entry(read_policy_entries(workspace, policy)) if workspace is not None else None
    latest = [start for start in mine if start.checkpoint][-1:]
    size = _size(latest[0].checkpoint) if latest else None
    return pending_decision(mine, live.iteration if live else None, live.record.experiment_name if live else None,
                            size)


def _size(path: str | None) -> int | None:
    """A checkpoint copy's size; None when it is gone, or cannot be read from this node."""
    try:
        return os.stat(path).st_size if path else None
    except OSError:
        return None
