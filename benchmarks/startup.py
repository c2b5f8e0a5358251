"""Start-up: `pbt-track report` on a small, current database against importing its three libraries.

The record is print-only, so `report` with sync has nothing to ask the scheduler
and should cost what `--no-sync` does; it is shown beside it, without a target.

    python benchmarks/startup.py [ROUNDS]     # default 10
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks.common import PBT_TRACK, alternate, run, verdict


def main(rounds: int = 10) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="pbt-track-bench-"))
    work = scratch / "w"
    run([PBT_TRACK, "submit", "--run", "tests.fixtures.pbt_echo", "--backend", "slurm", "--workdir", str(work),
         "--slurm_print_only", "true", "--train_dir", str(scratch / "train")])
    try:
        medians = alternate(
            {
                "imports": lambda: run([sys.executable, "-c", "import sqlalchemy, click, tabulate"]),
                "report": lambda: run([PBT_TRACK, "report", "--workdir", str(work), "--no-sync"]),
                "synced": lambda: run([PBT_TRACK, "report", "--workdir", str(work)]),
                "help": lambda: run([PBT_TRACK, "--help"]),
            },
            rounds,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"start-up: import sqlalchemy, click, tabulate {medians['imports'] * 1000:.0f} ms; "
          f"pbt-track --help {medians['help'] * 1000:.0f} ms; pbt-track report {medians['report'] * 1000:.0f} ms "
          f"(with sync {medians['synced'] * 1000:.0f} ms); "
          f"report {verdict(medians['report'] / medians['imports'], 1.5)}")


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:2]))
