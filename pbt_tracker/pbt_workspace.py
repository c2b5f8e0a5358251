"""Progress of PBT policies, read from the workspace IsaacGymEnvs' PBT writes.

Every policy leaves ``<workspace>/<policy_idx:03d>/<iteration:06d>.yaml`` per
PBT iteration. The report only needs the iteration and the objective from
them, so the files are scanned line by line instead of parsed as YAML: that
keeps PyYAML out, and a file another process is still writing, or anything
else odd in the directory, is passed over instead of breaking the report.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PolicyProgress", "find_workspace", "read_policy_progress"]

_TOP_LEVEL = re.compile(r"(iteration|true_objective):[ \t]*(.*?)[ \t]*")
_INTEGER_STEM = re.compile(r"[0-9]+")
_YAML_INFINITIES = {".inf": float("inf"), "+.inf": float("inf"), "-.inf": float("-inf")}


@dataclass(frozen=True)
class PolicyProgress:
    policy_idx: int
    latest_iteration: int | None
    latest_objective: float | None
    best_objective: float | None


def find_workspace(cmd: str, experiment_train_dir: str, cwd: str | None = None) -> Path | None:
    """The existing workspace directory the experiment's ``pbt.workspace=`` argument names.

    IsaacGymEnvs puts a relative workspace under the rl_games train dir
    ``runs`` inside the Hydra run dir; the run dir itself is tried too.
    Relative paths are taken from `cwd`, the directory the experiment was launched from.
    """
    try:
        tokens = shlex.split(cmd)
    except ValueError:
        tokens = cmd.split()
    workspace = _last_value(tokens, "pbt.workspace")
    if not workspace:
        return None
    base = os.path.join(cwd or "", _last_value(tokens, "hydra.run.dir") or experiment_train_dir)
    candidates = [workspace] if os.path.isabs(workspace) else []
    candidates += [os.path.join(base, "runs", workspace), os.path.join(base, workspace)]
    return next((Path(candidate) for candidate in candidates if os.path.isdir(candidate)), None)


def read_policy_progress(workspace: Path, policy_idx: int) -> PolicyProgress:
    """Latest and best objective among the policy's readable iteration files."""
    readable: list[tuple[int, float]] = []
    try:
        paths = sorted((workspace / f"{policy_idx:03d}").glob("*.yaml"))
    except OSError:
        paths = []
    for path in paths:
        if _INTEGER_STEM.fullmatch(path.stem):
            entry = _read_entry(path, int(path.stem))
            if entry is not None:
                readable.append(entry)
    if not readable:
        return PolicyProgress(policy_idx, None, None, None)
    latest_iteration, latest_objective = max(readable, key=lambda entry: entry[0])
    best = max(objective for _iteration, objective in readable)
    return PolicyProgress(policy_idx, latest_iteration, latest_objective, best)


def _last_value(tokens: list[str], key: str) -> str | None:
    """Value of the last ``key=value`` token; Hydra's ``+``/``++`` prefixes count too."""
    value = None
    for token in tokens:
        name, sep, rest = token.lstrip("+").partition("=")
        if sep and name == key:
            value = rest
    return value


def policy_index(params: dict[str, object], cmd: str) -> int | None:
    """The experiment's `pbt.policy_idx`, from its parameters or else its command."""
    value = params.get("pbt.policy_idx", params.get("+pbt.policy_idx"))
    if value is None:
        try:
            tokens = shlex.split(cmd)
        except ValueError:
            tokens = cmd.split()
        value = _last_value(tokens, "pbt.policy_idx")
    try:
        return int(str(value))
    except ValueError:
        return None


def _read_entry(path: Path, stem_iteration: int) -> tuple[int, float] | None:
    """``(iteration, objective)`` of one file; the file name stands in for a missing iteration.

    Only lines ending in a newline count: the last line of a file still being
    written may be cut in the middle of a number.
    """
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    values: dict[str, str] = {}
    for line in text.split("\n")[:-1]:
        match = _TOP_LEVEL.fullmatch(line.rstrip("\r"))
        if match is not None:
            values[match.group(1)] = match.group(2)
    objective = _parse_float(values.get("true_objective", ""))
    iteration = values.get("iteration", str(stem_iteration))
    if objective is None or not _INTEGER_STEM.fullmatch(iteration):
        return None
    return int(iteration), objective


def _parse_float(value: str) -> float | None:
    if value.lower() in _YAML_INFINITIES:
        return _YAML_INFINITIES[value.lower()]
    try:
        number = float(value)
    except ValueError:
        return None
    return None if number != number else number
