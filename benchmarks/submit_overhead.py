"""What tracking costs at submit time: pbt-track submit against the original launcher's way.

Both sides write one script per experiment and sbatch them one by one, with
--pause_between 0 and held jobs (the template says #SBATCH --hold), on the
real Slurm; the baseline keeps no record. Each side starts as a fresh
process, the sides alternate, and the medians are compared. A third side
sends the same run with --slurm-array, against pbt-track's default mode.

    python benchmarks/submit_overhead.py [EXPERIMENTS] [ROUNDS]     # defaults: 1000 3
"""

from __future__ import annotations

import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import PBT_TRACK, REPO_ROOT, alternate, run, verdict

TEMPLATE = str(REPO_ROOT / "tests" / "fixtures" / "held_template.sh")


def main(experiments: int = 1000, rounds: int = 3) -> None:
    env = {"PBT_TRACK_BENCH_EXPERIMENTS": str(experiments), "PYTHONPATH": str(REPO_ROOT)}
    scratch = Path(tempfile.mkdtemp(prefix="pbt-track-bench-"))
    counter = iter(range(10**6))

    def baseline() -> float:
        work = scratch / f"baseline{next(counter)}"
        return run([sys.executable, "benchmarks/baseline_launcher.py", "benchmarks.many_experiments", str(work),
                    TEMPLATE, str(scratch / "train")], env)

    def tracked(*extra: str) -> float:
        work = scratch / f"tracked{next(counter)}"
        return run([PBT_TRACK, "submit", "--run", "benchmarks.many_experiments", "--backend", "slurm", "--workdir",
                    str(work), "--slurm_sbatch_template", TEMPLATE, "--slurm_cpus_per_gpu", "1",
                    "--pause_between", "0", "--train_dir", str(scratch / "train"), *extra], env)

    def arrays() -> float:
        elapsed = tracked("--slurm-array")
        sbatch_calls.append(_sbatch_calls(max(scratch.glob("tracked*"), key=lambda path: path.stat().st_mtime)))
        return elapsed

    def cancel_held() -> None:
        for script in scratch.glob("*/scancel.sh"):
            # scancel.sh names an array's tasks as '428_[0-999]'; scancel takes the array's own id for all of them.
            last = script.read_text().splitlines()[-1]
            ids = [word.split("_[", 1)[0] for word in shlex.split(last)[1:]] if last.startswith("scancel") else []
            if ids:
                subprocess.run(["scancel", *ids], check=False)
            script.unlink()

    sbatch_calls: list[int] = []
    try:
        medians = alternate({"baseline": baseline, "pbt-track": tracked, "arrays": arrays}, rounds,
                            between=cancel_held)
    finally:
        cancel_held()
        shutil.rmtree(scratch, ignore_errors=True)
    ratio = medians["pbt-track"] / medians["baseline"]
    print(f"submit overhead: {experiments} experiments, {rounds} rounds; baseline median {medians['baseline']:.2f} s, "
          f"pbt-track median {medians['pbt-track']:.2f} s; {verdict(ratio, 1.10)}")
    print(f"job arrays: {experiments} experiments in {max(sbatch_calls)} sbatch call(s) (target 1); "
          f"--slurm-array median {medians['arrays']:.2f} s against the default mode's {medians['pbt-track']:.2f} s; "
          f"{verdict(medians['arrays'] / medians['pbt-track'], 0.2)}")


def _sbatch_calls(workdir: Path) -> int:
    """Each array is one sbatch; experiments outside arrays are one each."""
    db = sqlite3.connect(workdir / "pbt_tracker.db")
    try:
        arrays = db.execute("SELECT count(*) FROM slurm_arrays").fetchone()[0]
        alone = db.execute("SELECT count(*) FROM submissions WHERE array_id IS NULL").fetchone()[0]
    finally:
        db.close()
    return arrays + alone


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:3]))
