"""A sync follows the backends its record's launches went through, and loads no other."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from pbt_tracker.cli import cli
from tests.conftest import REPO_ROOT

# The command line's entry, naming at exit the backends' modules the process loaded.
ENTRY = ("import atexit, sys; atexit.register(lambda: print(' '.join(sorted(name for name in sys.modules "
         "if name.startswith('pbt_tracker.backends.') and name.count('.') == 3)))); "
         "from pbt_tracker.cli import main; main()")


def test_a_sync_of_local_launches_loads_nothing_of_slurm_or_ngc(in_repo: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    sent = CliRunner().invoke(cli, ["submit", "--run", "tests.fixtures.quick_outcomes", "--backend", "processes",
                                    "--workdir", str(work), "--train_dir", str(tmp_path / "train"),
                                    "--pause_between", "0"])
    assert "01_quick_out_flaky" in sent.output

    done = subprocess.run([sys.executable, "-c", ENTRY, "sync", "--workdir", str(work)], capture_output=True,
                          text=True, cwd=REPO_ROOT, timeout=120)

    assert done.returncode == 0, done.stdout + done.stderr
    loaded = done.stdout.splitlines()[-1].split()
    assert "pbt_tracker.backends.processes.end" in loaded
    assert [name for name in loaded if ".slurm." in name or ".ngc." in name] == []
