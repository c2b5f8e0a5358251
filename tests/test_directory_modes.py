"""Directories pbt-track creates follow the user's umask but are never world-writable.

Under umask 000 a world-writable train dir would let any user of the machine
replace a policy's checkpoints, and a world-writable workdir its sbatch scripts.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from pbt_tracker.cli import cli
from pbt_tracker.run_description import Experiment, ParamList, RunDescription


@pytest.fixture
def umask_000() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def _world_writable(root: Path) -> list[str]:
    return [str(path) for path in [root, *root.rglob("*")]
            if path.is_dir() and path.stat().st_mode & stat.S_IWOTH]


def test_a_print_only_slurm_launch_under_umask_000_makes_no_world_writable_directory(
    in_repo: Path, tmp_path: Path, umask_000: None
) -> None:
    work, train = tmp_path / "deep" / "work", tmp_path / "train"
    result = CliRunner().invoke(cli, ["submit", "--run", "tests.fixtures.pbt_echo", "--backend", "slurm",
                                      "--workdir", str(work), "--train_dir", str(train), "--slurm_print_only", "true"])
    assert result.exit_code == 0, result.output
    assert (train / "echo_pbt" / "echo_pbt_").is_dir() and work.is_dir()
    assert _world_writable(tmp_path / "deep") == [] and _world_writable(train) == []
    assert stat.S_IMODE(work.stat().st_mode) == 0o700


def test_a_local_launch_under_umask_000_makes_no_world_writable_directory(
    in_repo: Path, tmp_path: Path, umask_000: None
) -> None:
    work, train = tmp_path / "work", tmp_path / "train"
    result = CliRunner().invoke(cli, ["submit", "--run", "tests.fixtures.pbt_echo", "--workdir", str(work),
                                      "--train_dir", str(train), "--pause_between", "0"])
    assert result.exit_code == 0, result.output
    assert (work / ".exit").is_dir() and (train / "echo_pbt" / "echo_pbt_").is_dir()
    assert _world_writable(work) == [] and _world_writable(train) == []


def test_generate_experiments_makes_its_dirs_without_world_write(tmp_path: Path, umask_000: None) -> None:
    description = RunDescription("run", [Experiment("ant", "echo", ParamList([{"seed": 1}]).generate_params())])
    list(description.generate_experiments(str(tmp_path / "train")))
    assert (tmp_path / "train" / "run" / "ant_").is_dir()
    assert _world_writable(tmp_path / "train") == []
