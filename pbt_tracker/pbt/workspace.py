"""Progress and history of PBT policies, read from the workspace IsaacGymEnvs' PBT writes.

Every policy leaves ``<workspace>/<policy_idx:03d>/<iteration:06d>.yaml`` (and
the weights beside it, ``.pth``) per PBT iteration, and keeps only the last
few of them; each policy also copies the population's best so far into
``<workspace>/best<policy_idx>/``. Readers here never fail on what they find:
a file another process is still writing, or anything else odd in the
directory, is passed over and read on a later call.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pbt_tracker.pbt.iteration_file import IterationRecord, parse_iteration_file

__all__ = [
    "PolicyProgress", "WorkspaceEntry", "find_workspace", "live_entry", "new_entries", "policy_index",
    "read_best_copies", "read_policy_entries", "read_policy_progress", "run_dir_of", "split_command",
]

_INTEGER_STEM = re.compile(r"[0-9]+")
_POLICY_DIR = re.compile(r"[0-9]{3,}")
_BEST_DIR = re.compile(r"best([0-9]+)")
_BEST_SOURCE = re.compile(r"_policy([0-9]+)_frame")


@dataclass(frozen=True)
class PolicyProgress:
    policy_idx: int
    latest_iteration: int | None
    latest_objective: float | None
    best_objective: float | None


@dataclass(frozen=True)
class WorkspaceEntry:
    """One readable iteration file: the policy's own, or a ``best<kept_by>`` copy of one."""

    policy_idx: int
    name: str
    path: Path
    mtime_ns: int
    record: IterationRecord
    kept_by: int | None = None

    @property
    def key(self) -> str:
        """Names this version of the file: a policy that restarts from scratch rewrites the same names."""
        return f"{self.name}@{self.mtime_ns}"

    @property
    def iteration(self) -> int:
        return self.record.iteration

    @property
    def true_objective(self) -> float:
        return self.record.true_objective


def find_workspace(cmd: str, experiment_train_dir: str, cwd: str | None = None) -> Path | None:
    """The existing workspace directory the experiment's ``pbt.workspace=`` argument names.

    IsaacGymEnvs puts a relative workspace under the rl_games train dir
    ``runs`` inside the Hydra run dir; the run dir itself is tried too.
    Relative paths are taken from `cwd`, the directory the experiment was launched from.
    """
    tokens = split_command(cmd)
    workspace = _last_value(tokens, "pbt.workspace")
    if not workspace:
        return None
    base = run_dir_of(cmd, experiment_train_dir, cwd)
    candidates = [workspace] if os.path.isabs(workspace) else []
    candidates += [os.path.join(base, "runs", workspace), os.path.join(base, workspace)]
    return next((Path(candidate) for candidate in candidates if os.path.isdir(candidate)), None)


def run_dir_of(cmd: str, experiment_train_dir: str, cwd: str | None = None) -> str:
    """The Hydra run dir the experiment trains in: its last ``hydra.run.dir=``, else its train dir, from `cwd`."""
    return os.path.join(cwd or "", _last_value(split_command(cmd), "hydra.run.dir") or experiment_train_dir)


def policy_index(params: dict[str, object], cmd: str) -> int | None:
    """The experiment's `pbt.policy_idx`, from its parameters or else its command."""
    value = params.get("pbt.policy_idx", params.get("+pbt.policy_idx"))
    if value is None:
        value = _last_value(split_command(cmd), "pbt.policy_idx")
    try:
        return int(str(value))
    except ValueError:
        return None


def read_policy_progress(workspace: Path, policy_idx: int) -> PolicyProgress:
    """The policy's live iteration and objective, and its best objective, ``best<idx>`` copies included."""
    own = read_policy_entries(workspace, policy_idx)
    live = live_entry(own)
    if live is None:
        return PolicyProgress(policy_idx, None, None, None)
    copies = [entry for entry in read_best_copies(workspace) if entry.policy_idx == policy_idx]
    best = max(entry.true_objective for entry in [*own, *copies])
    return PolicyProgress(policy_idx, live.iteration, live.true_objective, best)


def read_policy_entries(workspace: Path, policy_idx: int, copied: Collection[str] = ()) -> list[WorkspaceEntry]:
    """The policy's readable iteration files, lowest iteration first, leaving out the keys in `copied`."""
    name = f"{policy_idx:03d}"
    entries = [
        entry for entry in _read_dir(workspace, name, policy_idx, None, copied, _iteration_file_number)
        if entry is not None
    ]
    return sorted(entries, key=lambda entry: (entry.iteration, entry.mtime_ns))


def read_best_copies(workspace: Path, copied: Collection[str] = ()) -> list[WorkspaceEntry]:
    """The ``best<idx>`` copies; each belongs to the policy it was copied from, named in its file name."""
    entries: list[WorkspaceEntry] = []
    for directory in _subdirectories(workspace):
        match = _BEST_DIR.fullmatch(directory)
        if match is None:
            continue
        for entry in _read_dir(workspace, directory, None, int(match.group(1)), copied, lambda _name: None):
            if entry is not None:
                entries.append(entry)
    return sorted(entries, key=lambda entry: (entry.policy_idx, entry.iteration, entry.name))


def new_entries(workspace: Path, copied: Collection[str]) -> list[WorkspaceEntry]:
    """Every readable file of the workspace whose key is not in `copied`: what a history copier still lacks.

    Only the directory listing and one stat per file are paid for files
    already copied; a half-written file is left out, so it comes back
    (complete, with a new key) on a later call.
    """
    entries: list[WorkspaceEntry] = []
    for directory in _subdirectories(workspace):
        if _POLICY_DIR.fullmatch(directory):
            entries += read_policy_entries(workspace, int(directory), copied)
    return entries + read_best_copies(workspace, copied)


def live_entry(entries: Iterable[WorkspaceEntry], experiment_name: str | None = None) -> WorkspaceEntry | None:
    """The highest iteration of the policy's current life, passing over stale files of an earlier life.

    A policy started without ``++pbt_restart=True`` begins again at iteration
    0 under a new experiment name (rl_games stamps the start time into it),
    while its earlier life's higher iterations stay on disk until overwritten
    or cleaned up; a continuation or a PBT restart keeps the name. So the
    experiment name tells lives apart, and the most recently written file
    tells which life is current. The file time is used only to pick the life,
    not to cut the history at an attempt's start, because a resumed attempt's
    life began with files written before it started. A caller that knows the
    running attempt's ``+full_experiment_name`` passes it as
    `experiment_name`. Files without a name count as one life.
    """
    own = [entry for entry in entries if entry.kept_by is None]
    if not own:
        return None
    if experiment_name is None:
        experiment_name = max(own, key=lambda entry: (entry.mtime_ns, entry.iteration)).record.experiment_name
    life = [entry for entry in own if entry.record.experiment_name == experiment_name]
    return max(life, key=lambda entry: (entry.iteration, entry.mtime_ns), default=None)


def _read_dir(workspace: Path, directory: str, policy_idx: int | None, kept_by: int | None, copied: Collection[str],
              number_of: Callable[[str], int | None]) -> Iterator[WorkspaceEntry | None]:
    """Yields an entry per readable ``*.yaml`` in ``workspace/directory`` (None for an unreadable one)."""
    base = os.path.join(workspace, directory)  # paths as strings until an entry is made: thousands per sync
    try:
        names = os.listdir(base)
    except OSError:
        return
    for file_name in names:
        if not file_name.endswith(".yaml"):
            continue
        name_iteration = number_of(file_name)
        if kept_by is None and name_iteration is None:
            continue
        path = os.path.join(base, file_name)
        try:
            mtime_ns = os.stat(path).st_mtime_ns
        except OSError:
            continue
        name = f"{directory}/{file_name}"
        if f"{name}@{mtime_ns}" in copied:
            continue
        record = _read_record(path, name_iteration)
        if record is None:
            yield None
            continue
        owner = policy_idx if kept_by is None else _best_source(file_name, record)
        yield None if owner is None else WorkspaceEntry(owner, name, Path(path), mtime_ns, record, kept_by)


def _read_record(path: str, name_iteration: int | None) -> IterationRecord | None:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    return parse_iteration_file(data, name_iteration)


def _iteration_file_number(file_name: str) -> int | None:
    stem = file_name[: -len(".yaml")]
    return int(stem) if _INTEGER_STEM.fullmatch(stem) else None


def _best_source(file_name: str, record: IterationRecord) -> int | None:
    """The policy a best copy came from: its file name says ``_policyNNN_``, else its own path does."""
    match = _BEST_SOURCE.search(file_name)
    if match is not None:
        return int(match.group(1))
    origin = Path(record.pbt_checkpoint or "").parent.name
    return int(origin) if _POLICY_DIR.fullmatch(origin) else None


def _subdirectories(workspace: Path) -> list[str]:
    try:
        return sorted(entry.name for entry in os.scandir(workspace) if entry.is_dir())
    except OSError:
        return []


@lru_cache(maxsize=1024)
def split_command(cmd: str) -> tuple[str, ...]:
    """A command's words as a shell splits them (on whitespace when its quotes do not pair up).

    Kept per command: a sync splits each PBT policy's command several times.
    """
    try:
        return tuple(shlex.split(cmd))
    except ValueError:
        return tuple(cmd.split())


def _last_value(tokens: Iterable[str], key: str) -> str | None:
    """Value of the last ``key=value`` token; Hydra's ``+``/``++`` prefixes count too."""
    value = None
    for token in tokens:
        name, sep, rest = token.lstrip("+").partition("=")
        if sep and name == key:
            value = rest
    return value
