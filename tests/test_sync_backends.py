"""A sync follows the backends its record's launches went through, and loads no other."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

# The command line's entry, naming at exit the backends' modules the process loaded.
ENTRY = ("import atexit, sys; atexit.register(lambda: print(' '.join(sorted(name for name in sys.modules "
         "if name.startswith('pbt_tracker.backends.') and name.count('.') == 3)))); "
         "from pbt_tracker.cli import main; main()")


def test_a_sync_of_local_launches_loads_nothing_of_slurm_or_ngc(quick_local_launch: Path) -> None:
    done = subprocess.run([sys.executable, "-c", ENTRY, "sync", "--workdir", str(quick_local_launch)], capture_output=True,
                          text=True, cwd=REPO_ROOT, timeout=120)

    assert done.returncode == 0, done.stdout + done.stderr
    loaded = done.stdout.splitlines()[-1].split()
    assert "pbt_tracker.backends.processes.end" in loaded
    assert [name for name in loaded if ".slurm." in name or ".ngc." in name] == []
