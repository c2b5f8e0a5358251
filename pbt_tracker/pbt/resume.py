"""The command that continues a PBT policy from its latest own checkpoint instead of starting it over.

IsaacGymEnvs' PBT treats a command without ``++pbt_restart=True`` as the very
start of an experiment: new hyperparameters, iteration 0, a new experiment
name. It continues a policy only through the command line its own in-process
restart builds, so a resubmission must build that same command line.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pbt_tracker.pbt.workspace import WorkspaceEntry, live_entry, read_policy_entries, run_dir_of, split_command

__all__ = ["Continuation", "continuation_command", "find_run_dir", "latest_own_entry", "restart_args"]

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
    checkpoint = os.path.abspath(entry.path.parent / f"{entry.iteration:06d}.pth")
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


def latest_own_entry(workspace: Path, policy_idx: int, experiment_name: str | None = None) -> WorkspaceEntry | None:
    """The policy's live iteration in `workspace`, the one to continue from."""
    return live_entry(read_policy_entries(workspace, policy_idx), experiment_name)


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
