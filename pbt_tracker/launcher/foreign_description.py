"""RUN_DESCRIPTIONs built with IsaacGymEnvs' (or Sample Factory's) own launcher classes.

Their experiment modules import `isaacgymenvs.pbt.launcher.run_description`;
a user who has them should not have to edit that import to use pbt-track. Such
an object is taken by its public interface, and every name, command and root
dir comes from its own `generate_experiments`, so the launch is the one its
own launcher would make. Only the parameters, which that generator does not
yield, are read from each experiment's `params`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

from pbt_tracker.errors import RunDescriptionError
from pbt_tracker.run_description import ExperimentSpec, RunDescription

DESCRIPTION_INTERFACE = (
    "run_name",
    "experiments",
    "experiment_arg_name",
    "experiment_dir_arg_name",
    "customize_experiment_name",
    "param_prefix",
    "generate_experiments",
)
EXPERIMENT_INTERFACE = ("base_name", "cmd", "params", "env_vars")


def as_run_description(description: Any, source: str) -> RunDescription:
    """pbt-track's own RunDescription as it is; an object with the original's interface, adapted."""
    if isinstance(description, RunDescription):
        return description
    missing = [name for name in DESCRIPTION_INTERFACE if not hasattr(description, name)]
    if not missing and not callable(description.generate_experiments):
        missing = ["a callable generate_experiments"]
    if missing:
        raise RunDescriptionError(
            f"RUN_DESCRIPTION in {source} is a {type(description).__name__} without {', '.join(missing)}; "
            "build it with pbt_tracker.run_description.RunDescription (or IsaacGymEnvs' RunDescription)"
        )
    try:
        experiments = list(description.experiments)
    except TypeError:
        raise RunDescriptionError(
            f"RUN_DESCRIPTION in {source} has experiments that are not a list; give it a list of Experiments"
        ) from None
    for index, experiment in enumerate(experiments):
        lacking = [name for name in EXPERIMENT_INTERFACE if not hasattr(experiment, name)]
        if lacking:
            raise RunDescriptionError(
                f"RUN_DESCRIPTION in {source}: experiment {index} is a {type(experiment).__name__} without "
                f"{', '.join(lacking)}; build it with Experiment(name, cmd, params)"
            )
    return ForeignRunDescription(description, source)


class ForeignRunDescription(RunDescription):
    """Another launcher's RunDescription, seen through pbt-track's.

    The suffix is written through to the wrapped object, because its own
    `generate_experiments` reads it from there to build the root dirs.
    """

    def __init__(self, original: Any, source: str) -> None:  # noqa: D107 - the parent's fields are views
        self.original = original
        self.source = source

    @property
    def run_name(self) -> str:  # type: ignore[override]  # read-only view of the original's field
        return self.original.run_name

    @property
    def experiments(self) -> Any:  # type: ignore[override]  # read-only view of the original's field
        return self.original.experiments

    @property
    def experiment_suffix(self) -> str:
        return getattr(self.original, "experiment_suffix", "")

    @experiment_suffix.setter
    def experiment_suffix(self, value: str) -> None:
        self.original.experiment_suffix = value

    @property
    def experiment_arg_name(self) -> str:  # type: ignore[override]  # read-only view of the original's field
        return self.original.experiment_arg_name

    @property
    def experiment_dir_arg_name(self) -> str:  # type: ignore[override]  # read-only view of the original's field
        return self.original.experiment_dir_arg_name

    @property
    def customize_experiment_name(self) -> bool:  # type: ignore[override]  # read-only view of the original's field
        return self.original.customize_experiment_name

    @property
    def param_prefix(self) -> str:  # type: ignore[override]  # read-only view of the original's field
        return self.original.param_prefix

    def generate_experiments(self, train_dir: str, makedirs: bool = True) -> Iterator[tuple[str, str, str, Any]]:
        """The original's own generator, untouched."""
        return self.original.generate_experiments(train_dir, makedirs=makedirs)

    def experiment_specs(self, train_dir: str, makedirs: bool = False) -> list[ExperimentSpec]:
        """The original's yields, matched with the experiments they come from, in order.

        Its generator yields max(1, len(params)) entries per experiment, one
        after the other; an entry whose root dir is not its experiment's means
        the object is not what its interface claims, and is refused.
        """
        generated = iter(self.generate_experiments(train_dir, makedirs=makedirs))
        specs = []
        for index, experiment in enumerate(self.experiments):
            params = list(experiment.params)
            for number in range(max(1, len(params))):
                entry = next(generated, None)
                if entry is None:
                    raise self._mismatch(f"generate_experiments stopped before experiment {index}'s run {number}")
                cmd, name, root_dir, env_vars = _unpacked(entry, self._mismatch)
                if root_dir != os.path.join(self.run_name, f"{experiment.base_name}_{self.experiment_suffix}"):
                    raise self._mismatch(f"generate_experiments gave root dir {root_dir!r} for experiment {index}")
                specs.append(ExperimentSpec(
                    name=name,
                    base_name=experiment.base_name,
                    cmd=cmd,
                    params=dict(params[number]) if params else {},
                    env_vars=None if env_vars is None else dict(env_vars),
                    root_dir=root_dir,
                    train_dir=os.path.join(train_dir, root_dir),
                ))
        if next(generated, None) is not None:
            raise self._mismatch("generate_experiments gave more runs than its experiments' params")
        return specs

    def _mismatch(self, detail: str) -> RunDescriptionError:
        return RunDescriptionError(
            f"RUN_DESCRIPTION in {self.source} does not behave like IsaacGymEnvs' RunDescription ({detail}); "
            "build it with pbt_tracker.run_description.RunDescription"
        )


def _unpacked(entry: Any, mismatch: Any) -> tuple[str, str, str, Mapping[str, str] | None]:
    """(cmd, name, root_dir, env_vars); a generator that has no env_vars may yield only the first three."""
    if not isinstance(entry, tuple) or len(entry) not in (3, 4):
        raise mismatch(f"generate_experiments yielded {type(entry).__name__} {entry!r:.60}, not (cmd, name, root_dir, env_vars)")
    cmd, name, root_dir, *rest = entry
    return cmd, name, root_dir, (rest[0] if rest else None)
