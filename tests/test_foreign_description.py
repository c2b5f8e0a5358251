"""RUN_DESCRIPTIONs built with IsaacGymEnvs' classes are taken as they are.

`tests/fixtures/igestandin` is a stand-in, written for these tests, with the
original's module path (`isaacgymenvs.pbt.launcher.run_description`) and public
interface; IsaacGymEnvs itself is not installed here. Each of its runs is also
built with pbt-track's own classes (`tests/fixtures/standin_twins.py`), whose
output the fidelity tests in test_run_description.py pin against the original.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pbt_tracker.errors import RunDescriptionError
from pbt_tracker.launcher.foreign_description import as_run_description
from pbt_tracker.launcher.loader import load_run_description
from tests.conftest import FIXTURES, PYTHON, REPO_ROOT, query

STANDIN_ROOT = FIXTURES / "igestandin"
ECHO_RUN = "isaacgymenvs.pbt.experiments.echo_pbt_standin"
PBT_TRACK = str(Path(sys.executable).with_name("pbt-track"))


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.syspath_prepend(str(STANDIN_ROOT))
    import tests.fixtures.standin_twins as twins

    return twins


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(STANDIN_ROOT), str(REPO_ROOT)])}


@pytest.mark.parametrize("run, twin", [(ECHO_RUN, "ECHO"), ("isaacgymenvs.pbt.experiments.grid_standin", "GRID")])
@pytest.mark.parametrize("suffix", ["", "try2"])
def test_specs_of_a_foreign_run_are_those_of_the_same_run_built_with_pbt_tracks_classes(
    standin, tmp_path: Path, run: str, twin: str, suffix: str  # type: ignore[no-untyped-def]
) -> None:
    foreign = load_run_description(run, suffix)
    own = getattr(standin, twin)
    own.experiment_suffix = suffix
    assert type(foreign).__name__ == "ForeignRunDescription"
    assert foreign.experiment_specs(str(tmp_path)) == own.experiment_specs(str(tmp_path))
    assert list(foreign.generate_experiments(str(tmp_path), makedirs=False)) == list(
        own.generate_experiments(str(tmp_path), makedirs=False)
    )
    assert foreign.run_name == own.run_name
    assert [e.cmd for e in foreign.experiments] == [e.cmd for e in own.experiments]


def test_the_grid_run_pins_names_params_and_env_vars(standin, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    specs = load_run_description("isaacgymenvs.pbt.experiments.grid_standin").experiment_specs("/t")
    assert [(s.name, s.params, s.env_vars, s.root_dir) for s in specs] == [
        ("00_lr_sweep_t.lr_0.001_t.l.dec_0.9_see_1", {"train.lr": 0.001, "train.lr_decay": 0.9, "seed": 1},
         {"OMP_NUM_THREADS": "1"}, "grid_standin/lr_sweep_"),
        ("01_lr_sweep_t.lr_0.001_t.l.dec_0.99_see_2", {"train.lr": 0.001, "train.lr_decay": 0.99, "seed": 2},
         {"OMP_NUM_THREADS": "1"}, "grid_standin/lr_sweep_"),
        ("02_lr_sweep_t.lr_0.0003_t.l.dec_0.9_see_1", {"train.lr": 0.0003, "train.lr_decay": 0.9, "seed": 1},
         {"OMP_NUM_THREADS": "1"}, "grid_standin/lr_sweep_"),
        ("03_lr_sweep_t.lr_0.0003_t.l.dec_0.99_see_2", {"train.lr": 0.0003, "train.lr_decay": 0.99, "seed": 2},
         {"OMP_NUM_THREADS": "1"}, "grid_standin/lr_sweep_"),
        ("00_baseline", {}, None, "grid_standin/baseline_"),
    ]
    assert specs[4].cmd == "python train.py --task=Ant --experiment=00_baseline --train_dir=/t/grid_standin/baseline_"
    assert specs[0].train_dir == "/t/grid_standin/lr_sweep_"


def test_planning_a_foreign_run_creates_no_dirs_and_its_generator_still_can(
    standin, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    foreign = load_run_description(ECHO_RUN)
    foreign.experiment_specs(str(tmp_path / "t"))
    assert not (tmp_path / "t").exists()
    list(foreign.generate_experiments(str(tmp_path / "t")))
    assert (tmp_path / "t" / "echo_pbt_standin" / "echo_pbt_standin_").is_dir()


class _NoRun:
    experiments: list[object] = []

    def generate_experiments(self, train_dir: str, makedirs: bool = True) -> list[object]:
        return []


class _Bare:
    base_name = "x"


def test_an_object_without_the_interface_is_one_line_naming_what_is_missing() -> None:
    with pytest.raises(RunDescriptionError) as caught:
        as_run_description(_NoRun(), "my.run")
    assert str(caught.value) == (
        "RUN_DESCRIPTION in my.run is a _NoRun without run_name, experiment_arg_name, experiment_dir_arg_name, "
        "customize_experiment_name, param_prefix; build it with pbt_tracker.run_description.RunDescription "
        "(or IsaacGymEnvs' RunDescription)"
    )


def test_an_experiment_without_the_interface_is_named_by_its_position(standin) -> None:  # type: ignore[no-untyped-def]
    from isaacgymenvs.pbt.launcher.run_description import RunDescription

    description = RunDescription("r", [_Bare()])
    with pytest.raises(RunDescriptionError) as caught:
        as_run_description(description, "my.run")
    assert str(caught.value) == (
        "RUN_DESCRIPTION in my.run: experiment 0 is a _Bare without cmd, params, env_vars; "
        "build it with Experiment(name, cmd, params)"
    )


def test_a_generator_that_disagrees_with_its_experiments_is_refused(standin) -> None:  # type: ignore[no-untyped-def]
    from isaacgymenvs.pbt.launcher.run_description import Experiment, RunDescription

    description = RunDescription("r", [Experiment("a", "python a.py", [{"x": 1}, {"x": 2}])])
    description.generate_experiments = lambda train_dir, makedirs=True: iter([("c", "00_a", "r/a_", None)])
    with pytest.raises(RunDescriptionError) as caught:
        as_run_description(description, "my.run").experiment_specs("/t")
    assert str(caught.value) == (
        "RUN_DESCRIPTION in my.run does not behave like IsaacGymEnvs' RunDescription "
        "(generate_experiments stopped before experiment 0's run 1); "
        "build it with pbt_tracker.run_description.RunDescription"
    )


def _rows(workdir: Path) -> list[tuple]:
    return query(workdir / "pbt_tracker.db", "SELECT name, base_name, cmd, params, root_dir FROM experiments ORDER BY id")


def _scripts(workdir: Path) -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted(workdir.glob("sbatch_*.sh"))}


@pytest.mark.parametrize("how", ["submit", "module"])
def test_a_foreign_run_prints_the_same_scripts_and_commands_as_its_twin(tmp_path: Path, how: str) -> None:
    def launch(run: str, workdir: Path) -> subprocess.CompletedProcess[str]:
        head = [PBT_TRACK, "submit"] if how == "submit" else [PYTHON, "-m", "pbt_tracker.launcher.run"]
        return subprocess.run(
            [*head, "--run", run, "--backend", "slurm", "--slurm_workdir", str(workdir), "--slurm_print_only",
             "true", "--train_dir", str(tmp_path / "train")],
            cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120,
        )

    foreign = launch(ECHO_RUN, tmp_path / "w")
    twin = launch("tests.fixtures.standin_twins", tmp_path / "w")
    assert foreign.returncode == 0 and twin.returncode == 0, foreign.stderr + twin.stderr
    # The twin, launched second into the same workdir, writes scripts of its own (sbatch_<experiment>.L2.sh).
    assert foreign.stdout.replace("(launch 1)", "(launch 2)") == twin.stdout.replace(".L2.sh", ".sh")
    scripts_on_disk = _scripts(tmp_path / "w")
    assert len(scripts_on_disk) == 6
    # The same scripts but for their claim lines, which name each launch by its uuid and each script by its path.
    uuids = [uuid for (uuid,) in query(tmp_path / "w" / "pbt_tracker.db", "SELECT uuid FROM launches ORDER BY id")]
    assert all(text.replace(uuids[0], uuids[1]).replace(f"/{name})", f"/{name.replace('.sh', '.L2.sh')})")
               == scripts_on_disk[name.replace(".sh", ".L2.sh")]
               for name, text in scripts_on_disk.items() if ".L2." not in name)
    first, second = _rows(tmp_path / "w")[:3], _rows(tmp_path / "w")[3:]
    assert first == second
    assert first[2][:3] == (
        "02_echo_pbt_standin", "echo_pbt_standin",
        "python -c \"import sys; print('policy args:', ' '.join(sys.argv[1:]))\" pbt.num_policies=3 "
        f"pbt.policy_idx=2 experiment=02_echo_pbt_standin hydra.run.dir={tmp_path / 'train'}/echo_pbt_standin/"
        "echo_pbt_standin_",
    )
    scripts = query(tmp_path / "w" / "pbt_tracker.db", "SELECT path, text FROM scripts ORDER BY id")
    assert [text for _path, text in scripts[3:]] == [scripts_on_disk[Path(path).name] for path, _text in scripts[3:]]
    assert [text for _path, text in scripts[:3]] == [scripts_on_disk[Path(path).name] for path, _text in scripts[:3]]


@pytest.mark.slow  # a second or more of real processes: kept out of the quick tier
def test_a_foreign_run_runs_as_local_processes(tmp_path: Path) -> None:
    done = subprocess.run(
        [PBT_TRACK, "submit", "--run", ECHO_RUN, "--backend", "processes", "--workdir", str(tmp_path / "w"),
         "--train_dir", str(tmp_path / "train"), "--max_parallel", "3"],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert query(tmp_path / "w" / "pbt_tracker.db", "SELECT DISTINCT state, exit_code FROM submissions") == [
        ("COMPLETED", 0)
    ]
    log = (tmp_path / "w" / "01_echo_pbt_standin.1.log").read_text()
    assert (
        f"policy args: pbt.num_policies=3 pbt.policy_idx=1 experiment=01_echo_pbt_standin "
        f"hydra.run.dir={tmp_path / 'train'}/echo_pbt_standin/echo_pbt_standin_" in log
    )


def test_with_numpy_a_randomized_grid_is_in_numpys_permutation_order() -> None:
    """The order the original's `np.random.permutation(combinations)` gives for the same seed."""
    numpy = pytest.importorskip("numpy")
    from pbt_tracker.run_description import ParamGrid, ParamList

    values = list(range(8))
    numpy.random.seed(11)
    expected = [int(row[0]) for row in numpy.random.permutation([[value] for value in values])]
    numpy.random.seed(11)
    got = [params["p"] for params in ParamGrid([("p", values)]).generate_params(randomize=True)]
    assert got == expected and got != values
    numpy.random.seed(11)
    assert [params["p"] for params in ParamList([{"p": v} for v in values]).generate_params()] == expected
