"""`pip install .` (not editable) gives a working pbt-track whose migrations run from the installed copy."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from pbt_tracker.store.schema import head
from tests.conftest import REPO_ROOT, query

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(REPO_ROOT)],
        check=True, timeout=600,
    )
    (path,) = out.glob("pbt_track-*.whl")
    return path


def test_wheel_carries_the_migrations_and_the_examples(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {
        "pbt_tracker/migrations/env.py",
        "pbt_tracker/migrations/script.py.mako",
        "pbt_tracker/migrations/versions/0001_initial_schema.py",
        "pbt_tracker/migrations/versions/0004_slurm_arrays.py",
        "pbt_tracker/examples/ant_pbt.py",
        "pbt_tracker/cli/__init__.py",
        "pbt_tracker/serve/static/page.js",  # pbt-track serve's page loads nothing from anywhere else
        "pbt_tracker/serve/static/page.css",
    } <= names
    assert not any(name.startswith(("tests/", "migrations/")) for name in names)
    modules = {str(path.relative_to(REPO_ROOT)) for path in (REPO_ROOT / "pbt_tracker").rglob("*.py")}
    assert modules <= names, f"missing from the wheel (add the package to setup.cfg): {sorted(modules - names)}"


def test_installed_copy_launches_and_migrates_outside_the_source_tree(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", str(wheel)],
                   check=True, timeout=600)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for entry, work in (([str(venv / "bin" / "pbt-track"), "submit"], "a"),
                        ([str(venv / "bin" / "python"), "-m", "pbt_tracker.launcher.run"], "b")):
        done = subprocess.run(
            [*entry, "--run", "pbt_tracker.examples.ant_pbt", "--backend", "slurm", "--workdir", work,
             "--slurm_print_only", "true"],
            cwd=elsewhere, capture_output=True, text=True, timeout=120,
        )
        assert done.returncode == 0, done.stderr
        db = elsewhere / work / "pbt_tracker.db"
        assert query(db, "SELECT version_num FROM alembic_version") == [(head(),)]
        assert query(db, "SELECT count(*) FROM submissions WHERE state = 'PRINT_ONLY'") == [(4,)]
    origin = subprocess.run([str(venv / "bin" / "python"), "-c", "import pbt_tracker; print(pbt_tracker.__file__)"],
                            cwd=elsewhere, capture_output=True, text=True, check=True).stdout
    assert origin.startswith(str(venv))
