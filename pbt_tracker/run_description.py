"""Run descriptions in the shape IsaacGymEnvs' PBT launcher understands.

Existing run modules written for IsaacGymEnvs must keep working unchanged, and
the experiment names, commands and directories they produce must be the same
as the original launcher's, so that results land where people expect them and
resumed runs find their checkpoints. Only the standard library is used so a
run module can be imported without the training stack installed.

A run module is also imported by the training environment's interpreter
(`--python`), which for Isaac Gym is Python 3.6 to 3.8, with nothing of
pbt-track's environment but this package's directory; so this module keeps to
what Python 3.6 runs: no `from __future__ import annotations` (annotations use
`typing`'s generics, which 3.6 evaluates), no dataclasses, and nothing of
pbt-track imported at module level. tests/test_training_python.py imports it
under the oldest Python the machine has.
"""

import os
import random
import re
import warnings
from itertools import product
from shlex import quote
from typing import Any, Dict, Iterable, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Tuple

__all__ = [
    "ParamGenerator",
    "ParamList",
    "ParamGrid",
    "Experiment",
    "ExperimentSpec",
    "RunDescription",
    "param_shorthand",
]

# Customized names longer than this still work but are awkward in shells,
# Slurm job listings and directory names, so the user is told about them.
LONG_NAME_LIMIT = 100

_NAME_SEPARATORS = re.compile(r"[._-]")


class ParamGenerator:
    """Common base so run modules can accept any source of parameter dicts."""

    def generate_params(self, randomize: bool = True) -> Iterator[Dict[str, Any]]:
        raise NotImplementedError


class ParamList(ParamGenerator):
    """For hand-picked combinations that do not form a grid."""

    def __init__(self, combinations: Iterable[Mapping[str, Any]]) -> None:
        super().__init__()
        self.combinations = [dict(combination) for combination in combinations]  # dicts, as generate_params gives

    def generate_params(self, randomize: bool = True) -> Iterator[Dict[str, Any]]:
        yield from (shuffled(self.combinations) if randomize else self.combinations)


class ParamGrid(ParamGenerator):
    """For sweeps over every combination of a few parameters.

    The order of the tuples given decides the order of the experiments, so the
    same description always numbers its experiments the same way.
    """

    def __init__(self, grid_tuples: Iterable[Tuple[Any, Iterable[Any]]]) -> None:
        super().__init__()
        grid: Dict[Any, List[Any]] = {}
        for key, values in grid_tuples:
            if isinstance(key, list):
                key = tuple(key)
            grid[key] = list(values)
        self.grid = grid

    def _combinations(self) -> List[Tuple[Any, ...]]:
        return list(product(*self.grid.values()))

    def generate_params(self, randomize: bool = False) -> Iterator[Dict[str, Any]]:
        if not self.grid:
            return
        keys = list(self.grid)
        combos = self._combinations()
        if randomize:
            combos = shuffled(combos)
        for combo in combos:
            params: Dict[str, Any] = {}
            for key, value in zip(keys, combo):
                if isinstance(key, tuple):
                    # Grouped names move together: one value tuple sets them all.
                    for name, part in zip(key, value):
                        params[name] = part
                else:
                    params[key] = value
            yield params


def shuffled(items: Sequence[Any]) -> List[Any]:
    """`items` in a random order: with numpy, the order `np.random.permutation` gives.

    The original shuffles with numpy, so a run seeded with `np.random.seed`
    numbers its experiments as it did there. The values themselves are kept as
    given, where the original turns them into numpy scalars. Without numpy the
    order comes from the standard library's `random` and differs.
    """
    try:
        import numpy
    except ImportError:
        return random.sample(list(items), len(items))
    return [items[index] for index in numpy.random.permutation(len(items))]


def param_shorthand(param: str, taken: Sequence[str] = ()) -> str:
    """Abbreviation of ``param`` used in customized experiment names.

    Every dotted/underscored/dashed part but the last contributes its first
    letter, the last part up to three letters; on a clash with ``taken`` the
    last part grows one letter at a time while it can. Empty parts before the
    last one (as in ``--lr`` or ``a..b``) are left out instead of failing.
    """
    tokens = _NAME_SEPARATORS.split(param)
    head = [token[0] for token in tokens[:-1] if token]
    last = tokens[-1]
    length = min(3, len(last))
    shorthand = ".".join(head + [last[:length]])
    while length <= len(last) and shorthand in taken:
        length += 1
        shorthand = ".".join(head + [last[:length]])
    return shorthand


class Experiment:
    """One training command plus the parameter sets to run it with."""

    def __init__(
        self,
        name: str,
        cmd: str,
        param_generator: Iterable[Mapping[str, Any]] = (),
        env_vars: Optional[Mapping[str, str]] = None,
    ) -> None:
        self.base_name = name
        self.cmd = cmd
        self.params = list(param_generator)
        self.env_vars = env_vars

    def _expand(
        self, experiment_arg_name: str, customize_experiment_name: bool, param_prefix: str
    ) -> Iterator[Tuple[str, str, Dict[str, Any]]]:
        count = max(1, len(self.params))
        for idx in range(count):
            params = dict(self.params[idx]) if self.params else {}
            cmd_tokens = [self.cmd]
            name_tokens = [self.base_name]
            taken: List[str] = []
            for param, value in params.items():
                cmd_tokens.append(f"{param_prefix}{param}={value}")
                shorthand = param_shorthand(param, taken)
                taken.append(shorthand)
                name_tokens.append(f"{shorthand}_{value}")

            if customize_experiment_name:
                name = f"{idx:02d}_" + "_".join(name_tokens)
                if len(name) > LONG_NAME_LIMIT:
                    warnings.warn(
                        f"experiment name {name!r} is {len(name)} characters long"
                    )
            else:
                name = f"{idx:02d}_{self.base_name}"

            cmd_tokens.append(f"{experiment_arg_name}={name}")
            yield " ".join(cmd_tokens), name, params

    def generate_experiments(
        self, experiment_arg_name: str, customize_experiment_name: bool, param_prefix: str
    ) -> Iterator[Tuple[str, str]]:
        for cmd, name, _params in self._expand(
            experiment_arg_name, customize_experiment_name, param_prefix
        ):
            yield cmd, name


class ExperimentSpec(NamedTuple):
    """Everything pbt-track records about one experiment before submitting it (a named tuple: 3.6 has no dataclasses)."""

    name: str
    base_name: str
    cmd: str
    params: Dict[str, Any]
    env_vars: Optional[Dict[str, str]]
    root_dir: str
    train_dir: str


class RunDescription:
    """What a run module hands to the launcher: a named set of experiments.

    The argument names and prefix are configurable because the original was
    written for argparse-style programs, while IsaacGymEnvs uses Hydra
    (``param_prefix=""``, ``experiment_arg_name="experiment"``).
    """

    def __init__(
        self,
        run_name: str,
        experiments: Sequence[Experiment],
        experiment_arg_name: str = "--experiment",
        experiment_dir_arg_name: str = "--train_dir",
        customize_experiment_name: bool = True,
        param_prefix: str = "--",
    ) -> None:
        self.run_name = run_name
        self.experiments = experiments
        self.experiment_suffix = ""
        self.experiment_arg_name = experiment_arg_name
        self.experiment_dir_arg_name = experiment_dir_arg_name
        self.customize_experiment_name = customize_experiment_name
        self.param_prefix = param_prefix

    def _expand(
        self, train_dir: str, makedirs: bool
    ) -> Iterator[Tuple[ExperimentSpec, Optional[Mapping[str, str]]]]:
        for experiment in self.experiments:
            # An empty suffix still leaves the trailing "_": the original does
            # so and existing train dirs are laid out that way.
            root_dir = os.path.join(
                self.run_name, f"{experiment.base_name}_{self.experiment_suffix}"
            )
            env_vars = experiment.env_vars
            # The directory argument is one word whatever the path holds (quoted only where a shell would
            # read it, so an ordinary path is written as the original launcher writes it).
            for cmd, name, params in experiment._expand(
                self.experiment_arg_name, self.customize_experiment_name, self.param_prefix
            ):
                experiment_dir = os.path.join(train_dir, root_dir)
                if makedirs:
                    from pbt_tracker.files import make_dirs  # here: files.py need not run on the training interpreter

                    make_dirs(experiment_dir)
                spec = ExperimentSpec(
                    name=name,
                    base_name=experiment.base_name,
                    cmd=f"{cmd} {quote(f'{self.experiment_dir_arg_name}={experiment_dir}')}",
                    params=params,
                    env_vars=None if env_vars is None else dict(env_vars),
                    root_dir=root_dir,
                    train_dir=experiment_dir,
                )
                yield spec, env_vars

    def generate_experiments(
        self, train_dir: str, makedirs: bool = True
    ) -> Iterator[Tuple[str, str, str, Any]]:
        """Yield ``(cmd, experiment_name, root_dir, env_vars)`` per experiment."""
        for spec, env_vars in self._expand(train_dir, makedirs):
            yield spec.cmd, spec.name, spec.root_dir, env_vars

    def experiment_specs(self, train_dir: str, makedirs: bool = False) -> List[ExperimentSpec]:
        """The same experiments as `generate_experiments`, with their params kept."""
        return [spec for spec, _env_vars in self._expand(train_dir, makedirs)]
