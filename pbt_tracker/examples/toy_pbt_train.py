"""A toy stand-in for IsaacGymEnvs' PBT training, small enough to run anywhere.

    python -m pbt_tracker.examples.toy_pbt_train pbt.policy_idx=0 pbt.num_policies=4 \\
        pbt.workspace=workspace_toy_pbt hydra.run.dir=./train_dir/toy_pbt/toy_pbt_

Each policy climbs a smooth function with noisy gradient steps instead of
training a network, but deals with the rest of the population the way
IsaacGymEnvs' PBT observer does: only through the iteration files in the
shared workspace ``<hydra.run.dir>/runs/<pbt.workspace>``. So a whole PBT run
can be watched with `pbt-track report --pbt` in seconds, without a GPU.

Arguments are Hydra-style ``key=value``; unknown keys are ignored, as the
launcher adds its own. ``pbt.fail_once_policy=K`` makes policy K crash once,
with exit code 3, so that `pbt-track resubmit-failed` has something to do:
run again, the policy resumes from its latest checkpoint in the workspace.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

CRASH_EXIT_CODE = 3

_TARGET = (3.0, -2.0, 1.5, 4.0)
_UPDATES_PER_ITERATION = 10
_LIMITS = {"learning_rate": (1e-4, 0.25), "noise_scale": (0.01, 10.0)}
_PLAIN_STRING = re.compile(r"[A-Za-z_/][\w./-]*")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "y", "n", "null"}


@dataclass(frozen=True)
class Settings:
    policy_idx: int = 0
    num_policies: int = 4
    workspace: str = "workspace_toy_pbt"
    interval_steps: int = 1000
    max_iterations: int = 10
    start_after: int | None = None
    fail_once_policy: int = -1
    fail_at_iteration: int = 3
    iteration_seconds: float = 1.5
    seed: int = 0
    experiment: str = "toy_pbt"
    run_dir: str = "."
    replace_fraction_worst: float = 0.5
    replace_fraction_best: float = 0.3
    replace_threshold_frac_std: float = 0.5
    replace_threshold_frac_absolute: float = 0.05
    change_min: float = 1.1
    change_max: float = 1.5


_KEYS: dict[str, tuple[str, Callable[[str], object]]] = {
    "pbt.policy_idx": ("policy_idx", int),
    "pbt.num_policies": ("num_policies", int),
    "pbt.workspace": ("workspace", str),
    "pbt.interval_steps": ("interval_steps", int),
    "max_iterations": ("max_iterations", int),
    "pbt.start_after": ("start_after", int),
    "pbt.fail_once_policy": ("fail_once_policy", int),
    "pbt.fail_at_iteration": ("fail_at_iteration", int),
    "toy.iteration_seconds": ("iteration_seconds", float),
    "seed": ("seed", int),
    "experiment": ("experiment", str),
    "hydra.run.dir": ("run_dir", str),
    "pbt.replace_fraction_worst": ("replace_fraction_worst", float),
    "pbt.replace_fraction_best": ("replace_fraction_best", float),
    "pbt.replace_threshold_frac_std": ("replace_threshold_frac_std", float),
    "pbt.replace_threshold_frac_absolute": ("replace_threshold_frac_absolute", float),
    "pbt.change_min": ("change_min", float),
    "pbt.change_max": ("change_max", float),
}


@dataclass(frozen=True)
class State:
    iteration: int
    frame: int
    weights: list[float]
    params: dict[str, float]


@dataclass(frozen=True)
class PeerEntry:
    """What one iteration file of another policy says."""

    iteration: int
    objective: float
    checkpoint: str
    params: dict[str, float]


def parse_settings(argv: Sequence[str]) -> Settings:
    """Hydra-style overrides; the last of repeated keys wins, as in Hydra."""
    values: dict[str, object] = {}
    for token in argv:
        key, sep, value = token.lstrip("+").partition("=")
        if sep and key in _KEYS:
            name, convert = _KEYS[key]
            try:
                values[name] = convert(value)
            except ValueError:
                raise SystemExit(f"toy_pbt_train: bad value for {key}: {value!r}") from None
    settings = Settings(**values)  # type: ignore[arg-type]
    if not 0 <= settings.policy_idx < settings.num_policies:
        raise SystemExit(f"toy_pbt_train: pbt.policy_idx={settings.policy_idx} is not below pbt.num_policies")
    if settings.interval_steps <= 0:
        raise SystemExit("toy_pbt_train: pbt.interval_steps must be positive")
    return settings


def objective(weights: Sequence[float]) -> float:
    """About 6 at the start, 100 at the top: reads like an episode reward."""
    return 100.0 - 3.0 * sum((w - t) ** 2 for w, t in zip(weights, _TARGET))


def initial_state(settings: Settings) -> State:
    """Learning rates spread over the population, so that PBT has something to fix."""
    rng = random.Random(f"toy_pbt/{settings.seed}/{settings.policy_idx}")
    stratum = (settings.policy_idx + rng.random()) / settings.num_policies
    params = {"learning_rate": 10 ** (-2.7 + 1.4 * stratum), "noise_scale": rng.uniform(0.5, 3.0)}
    return State(0, 0, [0.0] * len(_TARGET), params)


def train(state: State, settings: Settings) -> State:
    """One PBT interval of noisy gradient ascent, seeded by iteration so a resumed run repeats it."""
    rng = random.Random(f"toy_pbt/{settings.seed}/{settings.policy_idx}/{state.iteration + 1}")
    lr, noise = state.params["learning_rate"], state.params["noise_scale"]
    weights = list(state.weights)
    for _ in range(_UPDATES_PER_ITERATION):
        weights = [w + lr * (2.0 * (t - w) + noise * rng.gauss(0.0, 1.0)) for w, t in zip(weights, _TARGET)]
    return State(state.iteration + 1, state.frame + settings.interval_steps, weights, dict(state.params))


def save(policy_dir: Path, state: State, true_objective: float, experiment: str) -> Path:
    """Weights first, then the iteration file naming them, so readers never find a dangling checkpoint."""
    checkpoint = policy_dir / f"{state.iteration:06d}.json"
    _write_atomic(checkpoint, json.dumps(
        {"iteration": state.iteration, "frame": state.frame, "weights": state.weights, "params": state.params}
    ))
    lines = [
        f"iteration: {state.iteration}",
        f"true_objective: {true_objective!r}",
        f"frame: {state.frame}",
        "params:",
        *(f"  {name}: {value!r}" for name, value in state.params.items()),
        f"checkpoint: {_yaml_string(str(checkpoint))}",
        f"experiment_name: {_yaml_string(experiment)}",
    ]
    path = policy_dir / f"{state.iteration:06d}.yaml"
    _write_atomic(path, "\n".join(lines) + "\n")
    return path


def resume(policy_dir: Path) -> tuple[State, Path] | None:
    """The policy's latest loadable checkpoint, as after a crash or a resubmission."""
    for _iteration, path in sorted(_numbered(policy_dir, ".json"), reverse=True):
        try:
            data = json.loads(path.read_text("utf-8"))
            weights = [float(w) for w in data["weights"]]
            state = State(int(data["iteration"]), int(data["frame"]), weights,
                          {name: float(data["params"][name]) for name in _LIMITS})
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if len(weights) == len(_TARGET):
            return state, path
    return None


def read_peer(policy_dir: Path, max_iteration: int) -> PeerEntry | None:
    """Newest readable iteration file of another policy that is not ahead of ours."""
    for iteration, path in sorted(_numbered(policy_dir, ".yaml"), reverse=True):
        if iteration > max_iteration:
            continue
        entry = _parse_iteration_file(path)
        if entry is not None:
            return entry
    return None


def pbt_step(state: State, own_objective: float, workspace: Path, settings: Settings) -> State:
    """IsaacGymEnvs' rule: a policy among the worst takes a clearly better one's weights and mutated params.

    A crashed policy's last objective keeps a place among the worst, which is
    why the toy's small population replaces its worse half by default.
    """
    idx = settings.policy_idx
    rng = random.Random(f"toy_pbt/{settings.seed}/{idx}/{state.iteration}/pbt")
    peers: dict[int, PeerEntry] = {}
    for other in range(settings.num_policies):
        if other != idx:
            entry = read_peer(workspace / f"{other:03d}", state.iteration)
            if entry is not None:
                peers[other] = entry
    objectives = {idx: own_objective, **{other: entry.objective for other, entry in peers.items()}}
    if len(objectives) < 2:
        return state
    ranked = sorted(objectives, key=lambda policy: (objectives[policy], policy))
    if idx not in ranked[: math.ceil(len(ranked) * settings.replace_fraction_worst)]:
        return state
    chosen = rng.choice(ranked[-math.ceil(len(ranked) * settings.replace_fraction_best):])
    gap = objectives[chosen] - own_objective
    # The lowest fifth stays out of the spread, as in IsaacGymEnvs, so crashed policies do not inflate it.
    values = sorted(objectives.values())[len(ranked) // 5:]
    threshold = max(settings.replace_threshold_frac_std * statistics.pstdev(values),
                    settings.replace_threshold_frac_absolute * abs(objectives[chosen]))
    if chosen == idx or gap <= threshold:
        weights, reason = None, f"policy {chosen} is not clearly better (gap {gap:.2f}, needed {threshold:.2f})"
    else:
        weights, reason = _load_weights(Path(peers[chosen].checkpoint)), f"cannot load policy {chosen}'s checkpoint"
    if weights is None:
        params = mutate(state.params, rng, settings.change_min, settings.change_max)
        _say(f"Policy {idx}: among the worst, but {reason}; keeping own weights, "
             f"new params {_format_params(params)}")
        return replace(state, params=params)
    params = {name: peers[chosen].params.get(name, value) for name, value in state.params.items()}
    params = mutate(params, rng, settings.change_min, settings.change_max)
    _say(f"Policy {idx}: replacing weights with policy {chosen} (objective {objectives[chosen]:.2f} "
         f"vs own {own_objective:.2f}), new params {_format_params(params)}")
    return replace(state, weights=weights, params=params)


def mutate(params: dict[str, float], rng: random.Random, change_min: float, change_max: float) -> dict[str, float]:
    mutated = {}
    for name, value in params.items():
        factor = rng.uniform(change_min, change_max)
        value = value * factor if rng.random() < 0.5 else value / factor
        low, high = _LIMITS.get(name, (float("-inf"), float("inf")))
        mutated[name] = min(max(value, low), high)
    return mutated


def main(argv: Sequence[str]) -> int:
    settings = parse_settings(argv)
    idx = settings.policy_idx
    run_dir = Path(settings.run_dir).absolute()
    workspace = run_dir / "runs" / settings.workspace
    policy_dir = workspace / f"{idx:03d}"
    policy_dir.mkdir(parents=True, exist_ok=True)
    start_after = 2 * settings.interval_steps if settings.start_after is None else settings.start_after
    crash_marker = run_dir / f"fail_once_policy_{idx}"

    resumed = resume(policy_dir)
    if resumed is None:
        state = initial_state(settings)
        _say(f"Policy {idx}: starting in {policy_dir}, params {_format_params(state.params)}")
    else:
        state, checkpoint = resumed
        _say(f"Policy {idx}: resuming from iteration {state.iteration} ({checkpoint})")

    while state.iteration < settings.max_iterations:
        time.sleep(settings.iteration_seconds)
        if idx == settings.fail_once_policy and state.iteration + 1 == settings.fail_at_iteration \
                and not crash_marker.exists():
            crash_marker.touch()
            print(f"Policy {idx}: simulated crash during iteration {state.iteration + 1}; "
                  "run it again to resume from its latest checkpoint", file=sys.stderr, flush=True)
            return CRASH_EXIT_CODE
        state = train(state, settings)
        current = objective(state.weights)
        save(policy_dir, state, current, settings.experiment)
        _say(f"Policy {idx}: iteration {state.iteration}/{settings.max_iterations} frame {state.frame} "
             f"objective {current:.2f} params {_format_params(state.params)}")
        if state.frame > start_after and state.iteration < settings.max_iterations:
            state = pbt_step(state, current, workspace, settings)
    _say(f"Policy {idx}: done after iteration {state.iteration}")
    return 0


def _numbered(directory: Path, suffix: str) -> list[tuple[int, Path]]:
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return [(int(name[: -len(suffix)]), directory / name) for name in names
            if name.endswith(suffix) and name[: -len(suffix)].isascii() and name[: -len(suffix)].isdigit()]


def _parse_iteration_file(path: Path) -> PeerEntry | None:
    """The few keys PBT needs; complete lines only, anything odd means the file is skipped."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    top: dict[str, str] = {}
    params: dict[str, str] = {}
    section = ""
    for line in text.split("\n")[:-1]:
        key, sep, value = line.strip().partition(":")
        if not sep:
            continue
        if line.startswith(" "):
            if section == "params":
                params[key] = value.strip()
        else:
            section = key
            top[key] = value.strip()
    try:
        return PeerEntry(int(top["iteration"]), float(top["true_objective"]), _yaml_unquote(top["checkpoint"]),
                         {name: float(value) for name, value in params.items() if name in _LIMITS})
    except (KeyError, ValueError):
        return None


def _load_weights(checkpoint: Path) -> list[float] | None:
    try:
        weights = [float(w) for w in json.loads(checkpoint.read_text("utf-8"))["weights"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return weights if len(weights) == len(_TARGET) else None


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, "utf-8")
    os.replace(tmp, path)


def _yaml_string(value: str) -> str:
    """Plain when YAML reads it back as the same string, else double-quoted (JSON is valid YAML)."""
    if _PLAIN_STRING.fullmatch(value) and value.lower() not in _YAML_WORDS:
        return value
    return json.dumps(value)


def _yaml_unquote(value: str) -> str:
    if value.startswith('"'):
        return str(json.loads(value))
    if value.startswith("'") and value.endswith("'") and len(value) > 1:
        return value[1:-1].replace("''", "'")
    return value


def _format_params(params: dict[str, float]) -> str:
    return " ".join(f"{name}={value:.4g}" for name, value in params.items())


def _say(message: str) -> None:
    print(message, flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
