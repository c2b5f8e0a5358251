"""Shared helpers: the repository root, fake programs on PATH, reading the record with sqlite3."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = REPO_ROOT / "tests" / "fixtures"

pytest_plugins = ["tests.old_python"]  # env38, version38: a Python 3.8 training environment


def query(db: Path, sql: str, *params: object) -> list[tuple]:
    """Read the record the way users do: plain sqlite3, no pbt-track code involved.

    A missing file is an error rather than a new empty one (mode=rw), which
    pbt-track would rightly refuse as a record cut short.
    """
    connection = sqlite3.connect(f"file:{quote(str(db))}?mode=rw", uri=True)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def file_digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def write_program(directory: Path, name: str, body: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@pytest.fixture
def fake_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A directory put first on PATH, for the scheduler outputs a one-node Slurm cannot produce."""
    directory = tmp_path / "fake-bin"
    directory.mkdir()
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ['PATH']}")

    def add(name: str, body: str) -> Path:
        return write_program(directory, name, body)

    return add


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from the repository root, as a user runs the launcher from their project."""
    monkeypatch.chdir(REPO_ROOT)
    return REPO_ROOT


PYTHON = sys.executable


@pytest.fixture
def quick_local_launch(in_repo: Path, tmp_path: Path) -> Path:
    """The workdir of a local launch whose experiments end at once (one of them failing)."""
    from click.testing import CliRunner

    from pbt_tracker.cli import cli

    work = tmp_path / "work"
    result = CliRunner().invoke(cli, ["submit", "--run", "tests.fixtures.quick_outcomes", "--backend", "processes",
                                      "--workdir", str(work), "--train_dir", str(tmp_path / "train"),
                                      "--pause_between", "0"])
    assert "01_quick_out_flaky" in result.output
    return work


FIGURES: list[str] = []


@pytest.fixture
def report_figure():
    """Record a line of measured figures; they are printed at the end of the run, CI logs included."""
    return FIGURES.append


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if FIGURES:
        terminalreporter.section("pbt-track figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


# `pbt-track ARGS` in a fresh interpreter that prints, last on stderr, every module it imported.
MODULES_PROBE = """
import sys
from pbt_tracker.cli import main
sys.argv = ["pbt-track", *sys.argv[1:]]
try:
    main()
finally:
    print("MODULES " + " ".join(sorted(sys.modules)), file=sys.stderr)
"""


def run_with_modules(*argv: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run `pbt-track ARGV` fresh; what it did and which modules it imported (an import costs start-up time)."""
    done = subprocess.run([PYTHON, "-c", MODULES_PROBE, *argv], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=120)
    modules = set(done.stderr.splitlines()[-1].removeprefix("MODULES ").split())
    return done, modules



def read_with(title: str = "Slurm", python: str | None = None, version: str | None = None) -> str:
    """The line `pbt-track submit` starts with: which Python read the run description, which one the experiments'
    `python` is (`python` for both, given with --python; else this one, and each job's own on a scheduler)."""
    import platform

    described = f"{python or os.path.abspath(sys.executable)} (Python {version or platform.python_version()})"
    runs = python if python and title == "local processes" else (
        os.path.abspath(sys.executable) if title == "local processes" else f"the one each {title} job finds")
    return f"Run description read with {described}; the experiments' python is {runs}"


@pytest.fixture(autouse=True)
def _owner_only_files() -> Iterator[None]:
    """`--group-readable` holds for the rest of its process: a test that launched with it leaves the next none."""
    yield
    from pbt_tracker.files import share_with_group

    share_with_group(False)
