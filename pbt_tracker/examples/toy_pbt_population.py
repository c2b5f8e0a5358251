"""What the toy trainer does with the rest of the population, by IsaacGymEnvs' PBT rules.

Split from the training loop so each rule (whom to copy, what to delete, what
to keep as the best) is a function of plain values; only the functions named
``*_files`` touch the workspace.
"""

from __future__ import annotations

import getpass
import json
import math
import os
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pbt_tracker.pbt.iteration_file import parse_iteration_file
from pbt_tracker.pbt.workspace import WorkspaceEntry, read_policy_entries

KEEP_LATEST = 10
BEST_FILES_KEPT = 6


@dataclass(frozen=True)
class Decision:
    """Restart from `donor`'s checkpoint (the policy's own when only its params change) with `params`."""

    donor: int
    params: dict[str, float]


def population_entries(workspace: Path, num_policies: int, max_iteration: int) -> dict[int, WorkspaceEntry]:
    """Each policy's newest readable iteration not ahead of `max_iteration`, as IsaacGymEnvs loads them."""
    newest: dict[int, WorkspaceEntry] = {}
    for policy in range(num_policies):
        entries = [entry for entry in read_policy_entries(workspace, policy) if entry.iteration <= max_iteration]
        if entries:
            newest[policy] = entries[-1]
    return newest


def decide(idx: int, own_objective: float, own_params: dict[str, float], peers: dict[int, WorkspaceEntry],
           fractions: tuple[float, float], thresholds: tuple[float, float], change: tuple[float, float],
           rng: random.Random, say: Callable[[str], None]) -> Decision | None:
    """IsaacGymEnvs' rule: among the worst, take a clearly better policy's weights, else mutate own params.

    The lowest fifth stays out of the spread, as in IsaacGymEnvs, so crashed
    policies do not inflate it. None: the policy keeps training as it is.
    """
    objectives = {policy: entry.true_objective for policy, entry in peers.items()}
    objectives[idx] = own_objective
    if len(objectives) < 2:
        return None
    ranked = sorted(objectives, key=lambda policy: (objectives[policy], policy), reverse=True)
    best = ranked[: math.ceil(fractions[1] * len(ranked))]
    worst = ranked[-math.ceil(fractions[0] * len(ranked)):]
    say(f"Policy {idx}: PBT best_policies={best}, worst_policies={worst}")
    if idx not in worst:
        say(f"Current policy {idx} is doing well, not among the worst_policies={worst}")
        return None
    say(f"Current policy {idx} is among the worst_policies={worst}, consider replacing weights")
    candidate = rng.choice(best)
    gap = objectives[candidate] - own_objective
    spread = statistics.pstdev(sorted(objectives.values())[len(objectives) // 5:])
    needed = max(thresholds[0] * spread, thresholds[1] * abs(objectives[candidate]))
    if candidate != idx and gap > needed:
        say(f"Replacing underperforming policy {idx} with {candidate}")
        donor = candidate
    else:
        say(f"Policy {idx}: objective {objectives[candidate]:.2f} of policy {candidate} vs own {own_objective:.2f} "
            f"is not enough to replace (gap {gap:.2f}, needed {needed:.2f}); mutating own params")
        donor = idx
    source = dict(peers[donor].record.params) if donor != idx and rng.random() < 0.5 else dict(own_params)
    params = {name: float(source.get(name, value))  # type: ignore[arg-type]  # a peer's file holds numbers
              for name, value in own_params.items()}
    return Decision(donor, mutate(params, rng, *change))


def mutate(params: dict[str, float], rng: random.Random, change_min: float, change_max: float,
           limits: dict[str, tuple[float, float]] | None = None) -> dict[str, float]:
    mutated = {}
    for name, value in params.items():
        factor = rng.uniform(change_min, change_max)
        value = value * factor if rng.random() < 0.5 else value / factor
        low, high = (limits or {}).get(name, (float("-inf"), float("inf")))
        mutated[name] = min(max(value, low), high)
    return mutated


def cleanup_threshold(population_iterations: list[int], behind: int) -> int:
    """Own files at or below this iteration go: `behind` iterations older than the population's slowest."""
    return min(population_iterations, default=0) - behind


def thinning_victim(iterations: list[int], keep_latest: int = KEEP_LATEST) -> int | None:
    """The old iteration whose removal leaves the smallest gap, sparing the latest ones; None when too few."""
    candidates = sorted(iterations)[:-keep_latest] if keep_latest else sorted(iterations)
    if len(candidates) < 3:
        return None
    best = min(range(1, len(candidates) - 1), key=lambda i: (candidates[i + 1] - candidates[i - 1], i))
    return candidates[best]


def cleanup_files(policy_dir: Path, threshold: int, max_checkpoints: int, say: Callable[[str], None]) -> None:
    """IsaacGymEnvs' clean-up: drop what is far behind, then thin out old files until few enough are left."""
    for iteration in _iterations(policy_dir):
        if iteration <= threshold:
            _remove_iteration(policy_dir, iteration, say)
    while len(iterations := _iterations(policy_dir)) > max_checkpoints:
        victim = thinning_victim(iterations)
        if victim is None:
            break
        _remove_iteration(policy_dir, victim, say)


def best_copy_name(task: str, objective: float, iteration: int, policy: int, frame: int) -> str:
    return f"{task}_best_obj_{objective:015.5f}_iter_{iteration:04d}_policy{policy:03d}_frame{frame}"


def save_best_files(best_dir: Path, entry: WorkspaceEntry, name: str, say: Callable[[str], None]) -> None:
    """Copy `entry` (and its weights) into `best_dir` when it beats the copy there; keep the newest few files.

    A copy that fails (a peer cleaned the file up meanwhile) is no reason to stop training.
    """
    best_dir.mkdir(parents=True, exist_ok=True)
    kept = sorted((path for path in best_dir.iterdir() if path.suffix == ".yaml"), reverse=True)
    if kept:
        record = parse_iteration_file(kept[0].read_bytes())
        if record is not None and record.true_objective >= entry.true_objective:
            return
    say(f"New best objective: {entry.true_objective}!")
    try:
        shutil.copy(entry.path.with_suffix(".pth"), best_dir / f"{name}.pth")
        shutil.copy(entry.path, best_dir / f"{name}.yaml")
        for stale in sorted(best_dir.iterdir(), reverse=True)[BEST_FILES_KEPT:]:
            stale.unlink()
    except OSError as exc:
        say(f"cannot copy the best checkpoint ({exc}); trying again next iteration")


def _iterations(policy_dir: Path) -> list[int]:
    return sorted(int(name[:-5]) for name in os.listdir(policy_dir) if name.endswith(".yaml") and name[:-5].isdigit())


def _remove_iteration(policy_dir: Path, iteration: int, say: Callable[[str], None]) -> None:
    for suffix in (".yaml", ".pth"):
        path = policy_dir / f"{iteration:06d}{suffix}"
        say(f"PBT cleanup: removing checkpoint {path.name}")
        path.unlink(missing_ok=True)


def restart_copy_files(source: Path, frame: int, experiment_name: str, idx: int) -> Path:
    """The donor's weights copied where IsaacGymEnvs copies them before a restart, its frame made the taker's.

    That is ``tempfile.gettempdir()/ige_<user>/<experiment>_p<idx>/``, emptied first: node-local ``/tmp``
    unless the job's TMPDIR says otherwise.
    """
    data = json.loads(source.read_text("utf-8"))
    weights = [float(weight) for weight in data["weights"]]
    restart_dir = Path(tempfile.gettempdir()) / f"ige_{getpass.getuser()}" / f"{experiment_name}_p{idx}"
    shutil.rmtree(restart_dir, ignore_errors=True)
    restart_dir.mkdir(parents=True)
    copy = restart_dir / source.name
    temporary = copy.with_name(f".{copy.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps({"frame": frame, "weights": weights}), "utf-8")
    os.replace(temporary, copy)
    return copy


def journal(path: str, policy: int, what: str, iteration: int) -> None:
    """One line per event in one write to a file opened for appending, so that several processes' lines never mix:
    a benchmark reads from it, without trusting pbt-track, whether a policy ever ran twice at once, started over or
    redid an iteration."""
    if path:
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(descriptor, f"{time.time():.3f} {os.getpid()} {policy} {what} {iteration}\n".encode())
        finally:
            os.close(descriptor)
