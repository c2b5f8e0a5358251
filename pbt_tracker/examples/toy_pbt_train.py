"""A toy stand-in for IsaacGymEnvs' PBT training, small enough to run anywhere.

    python -m pbt_tracker.examples.toy_pbt_train pbt.policy_idx=0 pbt.num_policies=4 \\
        pbt.workspace=workspace_toy_pbt hydra.run.dir=./train_dir/toy_pbt/toy_pbt_

Each policy climbs a smooth function with noisy gradient steps instead of training a network, but follows
IsaacGymEnvs' PBT protocol, so that what pbt-track does with a real population is tested on this one: without
``++pbt_restart=True`` it is the very start of the experiment, so it mutates its hyperparameters and restarts
itself with them from iteration 0; it loads ``checkpoint=`` when given; it writes ``<iteration:06d>.yaml`` (with
``yaml.dump``, the same keys) and ``.pth`` (JSON here) into
``<hydra.run.dir>/runs/<pbt.workspace>/<policy_idx:03d>``, cleans up old ones and keeps ``best<policy_idx>``
copies as IsaacGymEnvs does; and to take over another policy's weights it copies them into
``tempfile.gettempdir()/ige_<user>/<experiment>_p<idx>/`` and restarts its own process with the command line
IsaacGymEnvs' restart builds, printing the same lines. ``toy.quiet_seconds=S`` makes every start save nothing
(and decide nothing) for its first S seconds, as IsaacGymEnvs does for 30 s; ``toy.replace_policy=K
toy.replace_at=N toy.replace_with=D`` makes policy K take policy D's weights, with mutated parameters, right
after it saves iteration N, whatever the objectives say.

Arguments are Hydra-style ``key=value``; unknown keys are ignored, as the launcher adds its own.
``pbt.fail_once_policy=K`` makes policy K crash once, with exit code 3; run again as it was, it starts over; run
with the continuation `pbt_tracker.pbt.resume` builds, it continues from its checkpoint. ``toy.journal=PATH``
appends a line to PATH at each start and each iteration done (see `toy_pbt_population.journal`).
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from pbt_tracker.examples import toy_pbt_population as population
from pbt_tracker.examples.toy_pbt_settings import Settings, parse_settings
from pbt_tracker.pbt.resume import restart_args

CRASH_EXIT_CODE = 3
TASK = "toy"

_TARGET = (3.0, -2.0, 1.5, 4.0)
_UPDATES_PER_ITERATION = 10
_LIMITS = {"toy.learning_rate": (1e-4, 0.25), "toy.noise_scale": (0.01, 10.0)}


@dataclass(frozen=True)
class State:
    iteration: int
    frame: int
    weights: list[float]
    params: dict[str, float]


def objective(weights: Sequence[float]) -> float:
    """About 6 at the start, 100 at the top: reads like an episode reward."""
    return 100.0 - 3.0 * sum((w - t) ** 2 for w, t in zip(weights, _TARGET))


def default_params(settings: Settings) -> dict[str, float]:
    """Learning rates spread over the population, so that PBT has something to fix."""
    rng = random.Random(f"toy_pbt/{settings.seed}/{settings.policy_idx}")
    stratum = (settings.policy_idx + rng.random()) / settings.num_policies
    defaults = {"toy.learning_rate": 10 ** (-2.7 + 1.4 * stratum), "toy.noise_scale": rng.uniform(0.5, 3.0)}
    given = {"toy.learning_rate": settings.learning_rate, "toy.noise_scale": settings.noise_scale}
    return {name: defaults[name] if value is None else value for name, value in given.items()}


def train(state: State, settings: Settings) -> State:
    """One PBT interval of noisy gradient ascent, seeded by iteration so a continued run repeats it."""
    rng = random.Random(f"toy_pbt/{settings.seed}/{settings.policy_idx}/{state.iteration + 1}")
    lr, noise = state.params["toy.learning_rate"], state.params["toy.noise_scale"]
    weights = list(state.weights)
    for _ in range(_UPDATES_PER_ITERATION):
        weights = [w + lr * (2.0 * (t - w) + noise * rng.gauss(0.0, 1.0)) for w, t in zip(weights, _TARGET)]
    return State(state.iteration + 1, state.frame + settings.interval_steps, weights, dict(state.params))


def save(policy_dir: Path, state: State, true_objective: float, experiment_name: str) -> Path:
    """Weights first, then the iteration file naming them, so readers never find a dangling checkpoint."""
    checkpoint = policy_dir / f"{state.iteration:06d}.pth"
    _write_atomic(checkpoint, json.dumps({"frame": state.frame, "weights": state.weights}))
    path = policy_dir / f"{state.iteration:06d}.yaml"
    _write_atomic(path, yaml.dump({"iteration": state.iteration, "true_objective": true_objective, "frame": state.frame,
                                   "params": state.params, "checkpoint": str(checkpoint), "pbt_checkpoint": str(path),
                                   "experiment_name": experiment_name}))
    return path


def load_checkpoint(path: str) -> tuple[int, list[float]]:
    """Frame and weights of a ``.pth`` this trainer wrote; raises on anything else."""
    data = json.loads(Path(path).read_text("utf-8"))
    weights = [float(w) for w in data["weights"]]
    if len(weights) != len(_TARGET):
        raise ValueError(f"{len(weights)} weights")
    return int(data["frame"]), weights


def main(argv: Sequence[str]) -> int:
    settings = parse_settings(argv)
    idx = settings.policy_idx
    run_dir = Path(settings.run_dir).absolute()
    (run_dir / "runs" / settings.workspace / f"{idx:03d}").mkdir(parents=True, exist_ok=True)
    if not settings.pbt_restart:
        _say(f"Policy {idx}: started without ++pbt_restart=True, so this is the start of the experiment: "
             "mutating the initial hyperparameters")
        rng = random.Random(f"toy_pbt/{settings.seed}/{idx}/start")
        params = population.mutate(default_params(settings), rng, settings.change_min, settings.change_max, _LIMITS)
        _restart(argv, idx, run_dir, params, None, None)
    state = State(0, 0, [0.0] * len(_TARGET), default_params(settings))
    if settings.checkpoint:
        frame, weights = load_checkpoint(settings.checkpoint)
        state = State(frame // settings.interval_steps, frame, weights, state.params)
    experiment_name = settings.full_experiment_name or f"{settings.experiment}_{time.strftime('%d-%H-%M-%S')}" \
        f"_{time.time_ns() % 1_000_000_000:09d}"
    _say(f"Policy {idx}: PBT init. Env frames: {state.frame}, pbt_iteration: {state.iteration}, "
         f"checkpoint {settings.checkpoint or None}, params {_format_params(state.params)}")
    population.journal(settings.journal, idx, "start", state.iteration)
    return _train_loop(settings, state, argv, run_dir, experiment_name)


def _train_loop(settings: Settings, state: State, argv: Sequence[str], run_dir: Path, experiment_name: str) -> int:
    idx = settings.policy_idx
    workspace = run_dir / "runs" / settings.workspace
    policy_dir = workspace / f"{idx:03d}"
    start_after = 2 * settings.interval_steps if settings.start_after is None else settings.start_after
    initial_frame = state.frame
    crash_marker = run_dir / f"fail_once_policy_{idx}"
    started = time.monotonic()

    def say(message: str) -> None:
        _say(f"Policy {idx}: {message}")

    while state.iteration < settings.max_iterations:
        time.sleep(settings.iteration_seconds)
        if idx == settings.fail_once_policy and state.iteration + 1 == settings.fail_at_iteration \
                and not crash_marker.exists():
            crash_marker.touch()
            print(f"Policy {idx}: simulated crash during iteration {state.iteration + 1}", file=sys.stderr, flush=True)
            return CRASH_EXIT_CODE
        state = train(state, settings)
        current = objective(state.weights)
        if time.monotonic() - started < settings.quiet_seconds:
            say(f"Not enough time passed since experiment start; iteration {state.iteration} is not saved")
            continue
        say(f"New pbt iteration {state.iteration}!")
        save(policy_dir, state, current, experiment_name)
        population.journal(settings.journal, idx, "iteration", state.iteration)
        say(f"iteration {state.iteration}/{settings.max_iterations} frame {state.frame} "
            f"objective {current:.2f} params {_format_params(state.params)}")
        peers = population.population_entries(workspace, settings.num_policies, state.iteration)
        threshold = population.cleanup_threshold([peers[p].iteration if p in peers else 0
                                                  for p in range(settings.num_policies)], settings.cleanup_behind)
        population.cleanup_files(policy_dir, threshold, settings.max_checkpoints, say)
        if peers:
            best = max(peers.values(), key=lambda entry: (entry.true_objective, -entry.policy_idx))
            name = population.best_copy_name(TASK, best.true_objective, state.iteration, best.policy_idx, state.frame)
            population.save_best_files(workspace / f"best{idx}", best, name, say)
        if idx == settings.replace_policy and state.iteration == settings.replace_at:
            _force_replacement(settings, state, peers, argv, run_dir, experiment_name)
        if state.frame - initial_frame < start_after or state.iteration >= settings.max_iterations:
            continue
        _maybe_replace(settings, state, current, {p: e for p, e in peers.items() if p != idx}, argv, run_dir,
                       experiment_name)
    say(f"done after iteration {state.iteration}")
    return 0


def _maybe_replace(settings: Settings, state: State, current: float, peers: dict[int, population.WorkspaceEntry],
                   argv: Sequence[str], run_dir: Path, experiment_name: str) -> None:
    """Restarts the process from the chosen checkpoint, as IsaacGymEnvs does; returns when nothing is to be done."""
    idx = settings.policy_idx
    rng = random.Random(f"toy_pbt/{settings.seed}/{idx}/{state.iteration}/pbt")
    decision = population.decide(
        idx, current, state.params, peers,
        (settings.replace_fraction_worst, settings.replace_fraction_best),
        (settings.replace_threshold_frac_std, settings.replace_threshold_frac_absolute),
        (settings.change_min, settings.change_max), rng, _say,
    )
    if decision is None:
        return
    _replace(settings, state, decision.donor, decision.params, peers, argv, run_dir, experiment_name)


def _force_replacement(settings: Settings, state: State, peers: dict[int, population.WorkspaceEntry],
                       argv: Sequence[str], run_dir: Path, experiment_name: str) -> None:
    """``toy.replace_*``: the donor's weights and mutated own parameters, as a decision of the algorithm would."""
    idx, donor = settings.policy_idx, settings.replace_with
    if donor not in peers:
        _say(f"Policy {idx}: policy {donor} has no checkpoint to take; continuing with own weights")
        return
    _say(f"Replacing underperforming policy {idx} with {donor}")
    rng = random.Random(f"toy_pbt/{settings.seed}/{idx}/{state.iteration}/forced")
    params = population.mutate(dict(state.params), rng, settings.change_min, settings.change_max, _LIMITS)
    _replace(settings, state, donor, params, peers, argv, run_dir, experiment_name)


def _replace(settings: Settings, state: State, donor: int, new_params: dict[str, float],
             peers: dict[int, population.WorkspaceEntry], argv: Sequence[str], run_dir: Path,
             experiment_name: str) -> None:
    """Copies the donor's checkpoint where IsaacGymEnvs does (the temporary directory) and restarts from it."""
    idx = settings.policy_idx
    params = {name: min(max(value, _LIMITS[name][0]), _LIMITS[name][1]) for name, value in new_params.items()}
    source = run_dir / "runs" / settings.workspace / f"{donor:03d}" / f"{state.iteration:06d}.pth"
    if donor != idx:
        source = Path(peers[donor].path).with_suffix(".pth")
    try:
        restart_checkpoint = population.restart_copy_files(source, state.frame, experiment_name, idx)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        _say(f"Policy {idx}: cannot load {source} for the restart ({exc}); continuing with own weights")
        return
    _say(f"Policy {idx}: restarting from checkpoint {restart_checkpoint}, {state.frame}")
    _say(f"Policy {idx}: Preparing to restart the process with mutated parameters! Checkpoint {restart_checkpoint}")
    _restart(argv, idx, run_dir, params, str(restart_checkpoint), experiment_name)


def _restart(argv: Sequence[str], idx: int, run_dir: Path, params: dict[str, float], checkpoint: str | None,
             experiment_name: str | None) -> None:
    args = restart_args(list(argv), str(run_dir), experiment_name, checkpoint, params)
    _say(f"Policy {idx}: Restarting self with args {args}")
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "pbt_tracker.examples.toy_pbt_train", *args])


def _write_atomic(path: Path, text: str) -> None:
    (tmp := path.with_name(f".{path.name}.{os.getpid()}.tmp")).write_text(text, "utf-8")
    os.replace(tmp, path)


def _format_params(params: dict[str, float]) -> str:
    return " ".join(f"{name}={value:.4g}" for name, value in params.items())


def _say(message: str) -> None:
    print(message, flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
