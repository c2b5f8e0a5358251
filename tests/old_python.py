"""Finding an old Python on this machine, and a training environment of it, for the tests of `--python`.

Isaac Gym's environments run Python 3.6 to 3.8. An interpreter is looked for
as `pythonX.Y` on PATH, then among pyenv's versions; none found is a reason
to skip, which the tests give. The environment is a virtualenv of that
interpreter in which the stand-in `isaacgymenvs` (tests/fixtures/igestandin)
is installed by a .pth file, as `pip install -e` would: pbt-track's own
interpreter cannot import it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import pytest

from tests.conftest import FIXTURES

PYENV_VERSIONS = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"


@lru_cache(maxsize=None)
def find_python(version: str) -> tuple[str | None, str]:
    """An interpreter of Python `version` ("3.8") that runs, or None and why there is none."""
    candidates = [shutil.which(f"python{version}")]
    candidates += [str(path) for path in sorted(PYENV_VERSIONS.glob(f"{version}.*/bin/python{version}"), reverse=True)]
    for candidate in filter(None, candidates):
        done = subprocess.run([candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                              capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip() == version:
            return candidate, ""
    return None, f"no Python {version} here: no python{version} on PATH that runs, none under {PYENV_VERSIONS}"


def training_env(python: str, where: Path) -> Path:
    """A virtualenv of `python` at `where` with the stand-in isaacgymenvs installed; its interpreter."""
    subprocess.run([python, "-m", "venv", "--without-pip", str(where)], check=True, capture_output=True)
    [site] = where.glob("lib/python*/site-packages")
    (site / "igestandin.pth").write_text(f"{FIXTURES / 'igestandin'}\n")
    return where / "bin" / "python"


@pytest.fixture(scope="session")
def env38(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The interpreter of a Python 3.8 training environment with the stand-in isaacgymenvs (a space in its path)."""
    python, why_not = find_python("3.8")
    if python is None:
        pytest.skip(why_not)
    return training_env(python, tmp_path_factory.mktemp("training") / "env 3.8")


@pytest.fixture(scope="session")
def version38(env38: Path) -> str:
    done = subprocess.run([str(env38), "-c", "import platform; print(platform.python_version())"],
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()
