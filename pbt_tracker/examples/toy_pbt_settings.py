"""The toy trainer's settings, read from Hydra-style ``key=value`` arguments as IsaacGymEnvs' would be."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["Settings", "parse_settings"]


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
    pbt_restart: bool = False
    checkpoint: str = ""
    full_experiment_name: str = ""
    learning_rate: float | None = None
    noise_scale: float | None = None
    cleanup_behind: int = 20
    journal: str = ""
    max_checkpoints: int = 25
    replace_fraction_worst: float = 0.5
    replace_fraction_best: float = 0.3
    replace_threshold_frac_std: float = 0.5
    replace_threshold_frac_absolute: float = 0.05
    change_min: float = 1.1
    change_max: float = 1.5
    quiet_seconds: float = 0.0
    replace_policy: int = -1
    replace_at: int = -1
    replace_with: int = -1


def _bool(value: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise ValueError(value)
    return value.lower() == "true"


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
    "pbt_restart": ("pbt_restart", _bool),
    "checkpoint": ("checkpoint", str),
    "full_experiment_name": ("full_experiment_name", str),
    "toy.learning_rate": ("learning_rate", float),
    "toy.noise_scale": ("noise_scale", float),
    "toy.cleanup_behind": ("cleanup_behind", int),
    "toy.journal": ("journal", str),
    "toy.max_checkpoints": ("max_checkpoints", int),
    "pbt.replace_fraction_worst": ("replace_fraction_worst", float),
    "pbt.replace_fraction_best": ("replace_fraction_best", float),
    "pbt.replace_threshold_frac_std": ("replace_threshold_frac_std", float),
    "pbt.replace_threshold_frac_absolute": ("replace_threshold_frac_absolute", float),
    "pbt.change_min": ("change_min", float),
    "pbt.change_max": ("change_max", float),
    "toy.quiet_seconds": ("quiet_seconds", float),
    "toy.replace_policy": ("replace_policy", int),
    "toy.replace_at": ("replace_at", int),
    "toy.replace_with": ("replace_with", int),
}


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
    settings = Settings(**values)  # type: ignore[arg-type]  # _KEYS converts each value for its field
    if not 0 <= settings.policy_idx < settings.num_policies:
        raise SystemExit(f"toy_pbt_train: pbt.policy_idx={settings.policy_idx} is not below pbt.num_policies")
    if settings.interval_steps <= 0:
        raise SystemExit("toy_pbt_train: pbt.interval_steps must be positive")
    return settings
