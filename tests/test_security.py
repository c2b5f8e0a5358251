"""No shell sees a user string, no file lands outside the workdir or is world-writable."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from pbt_tracker.backends.slurm.scancel_sh import scancel_script
from tests.conftest import PYTHON, REPO_ROOT

PACKAGE = REPO_ROOT / "pbt_tracker"


def test_no_module_of_the_package_hands_a_string_to_a_shell() -> None:
    offenders = [
        str(path.relative_to(REPO_ROOT))
        for path in PACKAGE.rglob("*.py")
        if any(needle in path.read_text() for needle in ("shell=True", "os.system(", "os.popen(", "getoutput("))
    ]
    assert offenders == []


def test_scancel_script_quotes_whatever_id_it_is_given() -> None:
    text = scancel_script(["12", "13; rm -rf ~", "$(reboot)"])
    assert text.splitlines()[-1] == "scancel 12 '13; rm -rf ~' '$(reboot)'"


@pytest.fixture
def open_umask():
    previous = os.umask(0)
    yield
    os.umask(previous)


def test_files_pbt_track_writes_are_never_world_writable_even_with_umask_0(tmp_path: Path, open_umask) -> None:
    for backend_args, work in (
        (["--backend", "slurm", "--slurm_print_only", "true"], tmp_path / "slurm"),
        (["--backend", "processes", "--pause_between", "0"], tmp_path / "local"),
    ):
        done = subprocess.run(
            [PYTHON, "-m", "pbt_tracker.launcher.run", "--run", "tests.fixtures.quick_outcomes", "--workdir",
             str(work), "--train_dir", str(tmp_path / "train"), *backend_args],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
        )
        assert done.returncode in (0, 1), done.stderr
        written = [path for path in work.rglob("*") if path.is_file()]
        assert len(written) >= 4
        assert [str(p) for p in written if p.stat().st_mode & stat.S_IWOTH] == []


def test_an_experiment_name_cannot_put_a_file_outside_the_workdir(tmp_path: Path) -> None:
    done = subprocess.run(
        [PYTHON, "-m", "pbt_tracker.launcher.run", "--run", "tests.fixtures.slash_in_name", "--backend", "slurm",
         "--workdir", str(tmp_path / "w"), "--slurm_print_only", "true"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 1
    assert "cannot be used as a file name" in done.stderr
    assert not (tmp_path / "w").exists() and not list(tmp_path.parent.glob("evil*"))
