"""Sync at constant cost: one sync over 10 tracked jobs against one over 1,000 (held jobs on the real Slurm).

    python benchmarks/sync_scaling.py [ROUNDS]     # default 5
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import PBT_TRACK, REPO_ROOT, alternate, run, verdict

TEMPLATE = str(REPO_ROOT / "tests" / "fixtures" / "held_template.sh")


def launch(workdir: Path, experiments: int, train: Path) -> None:
    run([PBT_TRACK, "submit", "--run", "benchmarks.many_experiments", "--backend", "slurm", "--workdir", str(workdir),
         "--slurm_sbatch_template", TEMPLATE, "--slurm_cpus_per_gpu", "1", "--pause_between", "0",
         "--train_dir", str(train)], {"PBT_TRACK_BENCH_EXPERIMENTS": str(experiments), "PYTHONPATH": str(REPO_ROOT)})


def main(rounds: int = 5) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="pbt-track-bench-"))
    few, many = scratch / "few", scratch / "many"
    try:
        launch(few, 10, scratch / "train")
        launch(many, 1000, scratch / "train")
        medians = alternate(
            {
                "10": lambda: run([PBT_TRACK, "sync", "--workdir", str(few)]),
                "1000": lambda: run([PBT_TRACK, "sync", "--workdir", str(many)]),
            },
            rounds,
        )
        calls = subprocess.run([PBT_TRACK, "sync", "--workdir", str(many)], capture_output=True, text=True).stdout
    finally:
        for workdir in (few, many):
            script = workdir / "scancel.sh"
            if script.exists():
                subprocess.run(["sh", str(script)], check=False)
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"sync: 10 jobs {medians['10'] * 1000:.0f} ms, 1,000 jobs {medians['1000'] * 1000:.0f} ms "
          f"({calls.strip()}); {verdict(medians['1000'] / medians['10'], 2.0)}")


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:2]))
