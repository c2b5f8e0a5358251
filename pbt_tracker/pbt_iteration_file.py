"""One PBT iteration file, as IsaacGymEnvs' PBT writes it with ``yaml.dump``.

The file is read as YAML, not scanned, because everything in it counts: the
params mapping and the paths are what a continuation needs. IsaacGymEnvs
writes it in place, not atomically, so another process may read it half
written; such a file must be passed over (and read again later), never
treated as the policy's state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import yaml

__all__ = ["IterationRecord", "parse_iteration_file"]

# libyaml's safe loader reads the same documents about ten times faster: a sync copies thousands of files.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class IterationRecord:
    """What one iteration file says; ``params`` are the hyperparameters the policy trained with."""

    iteration: int
    true_objective: float
    frame: int | None = None
    params: dict[str, object] = field(default_factory=dict)
    checkpoint: str | None = None
    pbt_checkpoint: str | None = None
    experiment_name: str | None = None


def parse_iteration_file(data: bytes, name_iteration: int | None = None) -> IterationRecord | None:
    """The file's record, or None for a file that is half written, broken or not an iteration file.

    ``yaml.dump`` sorts the keys, so ``true_objective`` is the last line it
    writes: a file that does not end in a newline, or lacks a numeric
    objective, is one still being written. `name_iteration` (from the file
    name) stands in for a missing ``iteration`` key.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not text.endswith("\n"):
        return None
    try:
        document = yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader, libyaml's when built with it
    except yaml.YAMLError:
        return None
    if not isinstance(document, dict):
        return None
    objective = _number(document.get("true_objective"))
    iteration = document.get("iteration", name_iteration)
    if objective is None or isinstance(iteration, bool) or not isinstance(iteration, int) or iteration < 0:
        return None
    frame = document.get("frame")
    params = document.get("params")
    return IterationRecord(
        iteration=iteration,
        true_objective=objective,
        frame=frame if isinstance(frame, int) and not isinstance(frame, bool) else None,
        params={str(key): value for key, value in params.items()} if isinstance(params, dict) else {},
        checkpoint=_string(document.get("checkpoint")),
        pbt_checkpoint=_string(document.get("pbt_checkpoint")),
        experiment_name=_string(document.get("experiment_name")),
    )


def _number(value: object) -> float | None:
    """A float from YAML's number, or from a string such as ``1e-3`` that YAML 1.1 leaves a string."""
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _string(value: object) -> str | None:
    return None if value is None or isinstance(value, (list, dict)) else str(value)
