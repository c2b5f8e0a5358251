"""What continuity costs: the toy population once without a time limit, once under short limits with the keeper.

Both runs send the same four policies (benchmarks/toy_population.py) with
the timeout_continue template and `pbt-track watch --interval 5`, the second
with `--slurm_timeout LIMIT` so every job is stopped and continues from its
latest checkpoint. Prints the ratio of the wall times, the iterations that
were written twice (redone beyond the last checkpoint: the target is 0), and
the keeper's CPU share and peak memory, and the gap between each job's end
and its continuation's start, read from sacct, against its bound: one keeper
interval plus the scheduling time Slurm took for that continuation (its Start
less its Submit). Needs the real cluster.

    python -m benchmarks.continuity [--limit 60] [--iterations 100] [--iteration-seconds 3]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import PBT_TRACK, REPO_ROOT, cpu_seconds
from pbt_tracker.backends.slurm import commands as slurm
from pbt_tracker.templates import template_path

BIN = Path(sys.executable).parent
INTERVAL = 5.0


def _env(iterations: int, seconds: float) -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(REPO_ROOT),
            "PBT_TRACK_BENCH_ITERATIONS": str(iterations), "PBT_TRACK_BENCH_ITERATION_SECONDS": str(seconds)}


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_population(base: Path, limit: str, iterations: int, seconds: float) -> dict[str, float]:
    """One population from submit to the keeper's exit: wall time, redone iterations, the keeper's cost."""
    env = _env(iterations, seconds)
    started = time.perf_counter()
    subprocess.run([PBT_TRACK, "submit", "--run", "benchmarks.toy_population", "--backend", "slurm", "--workdir", "w",
                    "--train_dir", "train_dir", "--slurm_sbatch_template", str(template_path("timeout_continue")),
                    "--slurm_timeout", limit, "--slurm_cpus_per_gpu", "1", "--slurm_gpus_per_job", "0",
                    "--pause_between", "0"], cwd=base, env=env, check=True, capture_output=True)
    keeper = subprocess.Popen([PBT_TRACK, "watch", "--workdir", "w", "--interval", f"{INTERVAL:g}",
                               "--max-attempts", "50"],
                              cwd=base, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    cpu = rss = 0.0
    try:
        while keeper.poll() is None:
            cpu, rss = cpu_seconds(keeper.pid)[0], _peak_rss_mb(keeper.pid)
            time.sleep(1)
    finally:
        if keeper.poll() is None:
            keeper.terminate()
            subprocess.run([PBT_TRACK, "cancel", "--workdir", "w", "--all"], cwd=base, env=env, capture_output=True)
    wall = time.perf_counter() - started
    if keeper.returncode != 0:
        raise SystemExit(f"the keeper failed ({keeper.returncode}): {keeper.stderr.read() if keeper.stderr else ''}")
    connection = sqlite3.connect(f"file:{base / 'w' / 'pbt_tracker.db'}?mode=ro", uri=True)
    try:
        # Each policy's own iteration files (<idx:03d>/), not its best<idx> copies of the others'.
        written, distinct, last = connection.execute(
            "SELECT count(*), count(DISTINCT policy || '/' || iteration), min(top) FROM pbt_iterations, "
            "(SELECT min(m) AS top FROM (SELECT max(iteration) AS m FROM pbt_iterations GROUP BY policy)) "
            "WHERE file_key LIKE substr('00' || policy, -3) || '/%'"
        ).fetchone()
        attempts = connection.execute("SELECT count(*) FROM submissions").fetchone()[0]
        cancelled = [job for (job,) in connection.execute("SELECT job_id FROM submissions WHERE state = 'CANCELLED'")]
        if cancelled:
            raise SystemExit(f"jobs {', '.join(cancelled)} were cancelled from outside the benchmark; "
                             "its figures would mean nothing: run it again when nothing else cancels jobs")
        pairs = connection.execute(
            "SELECT earlier.job_id, later.job_id FROM submissions AS later JOIN submissions AS earlier "
            "ON earlier.experiment_id = later.experiment_id AND earlier.attempt = later.attempt - 1 "
            "WHERE later.job_id IS NOT NULL AND earlier.job_id IS NOT NULL ORDER BY later.id"
        ).fetchall()
    finally:
        connection.close()
    if last != iterations:
        raise SystemExit(f"the population ended with a policy at iteration {last} of {iterations}: a job failed")
    return {"wall": wall, "redone": written - distinct, "last": last, "attempts": attempts,
            "keeper_cpu_share": cpu / wall, "keeper_rss_mb": rss, "gaps": continuation_gaps(pairs)}


def continuation_gaps(pairs: list[tuple[str, str]]) -> list[tuple[str, float, float]]:
    """Per continuation, from sacct: (job id, its Start less the previous job's End, its bound).

    The bound is one keeper interval plus what Slurm took to schedule the
    continuation (its Start less its Submit).
    """
    if not pairs:
        return []
    seen = slurm.query_sacct(sorted({job for pair in pairs for job in pair}))

    def newest(job: str):  # type: ignore[no-untyped-def]
        return max(seen[job], key=lambda row: row.submitted_at or row.started_at)

    gaps = []
    for earlier, later in pairs:
        if earlier not in seen or later not in seen:
            raise SystemExit(f"sacct does not know job {earlier if earlier not in seen else later}")
        end, continuation = newest(earlier).ended_at, newest(later)
        if end is None or continuation.started_at is None or continuation.submitted_at is None:
            raise SystemExit(f"sacct has no End of job {earlier} or no Submit/Start of job {later}")
        scheduling = (continuation.started_at - continuation.submitted_at).total_seconds()
        gaps.append((later, (continuation.started_at - end).total_seconds(), INTERVAL + scheduling))
    return gaps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", default="60", help="the time limit of each job, a GNU duration (default 60)")
    parser.add_argument("--iterations", type=int, default=100,
                        help="iterations of each policy (default 100: five 60 s limits at 3 s an iteration)")
    parser.add_argument("--iteration-seconds", type=float, default=3.0)
    args = parser.parse_args()
    results = {}
    for label, limit in (("no limit", "0"), (f"{args.limit} s limits", args.limit)):
        with tempfile.TemporaryDirectory(prefix="pbt-track-continuity-") as base:
            results[label] = run_population(Path(base), limit, args.iterations, args.iteration_seconds)
        figures = results[label]
        print(f"{label}: {figures['wall']:.1f} s, {figures['attempts']} attempts, every policy at iteration "
              f"{figures['last']}, {figures['redone']} iterations written twice; keeper "
              f"{100 * figures['keeper_cpu_share']:.2f}% of a core, peak {figures['keeper_rss_mb']:.0f} MB")
    gaps = results[f"{args.limit} s limits"]["gaps"]
    if gaps:
        job, gap, bound = max(gaps, key=lambda item: (item[1] - item[2], item[1]))
        over = sum(gap > bound for _job, gap, bound in gaps)
        largest = max(item[1] for item in gaps)
        print(f"gap from a job's End to its continuation's Start (sacct), {len(gaps)} continuations: worst "
              f"{gap:.0f} s (job {job}) against its bound {bound:.0f} s (interval {INTERVAL:g} s + that job's "
              f"Start-Submit); largest gap {largest:.0f} s; {over} over their bound: "
              f"{'met' if over == 0 else 'NOT met'}")
    ratio = results[f"{args.limit} s limits"]["wall"] / results["no limit"]["wall"]
    print(f"wall-time ratio {ratio:.2f} (target <= 1.15 with 60 s limits and a 5 s interval: "
          f"{'met' if ratio <= 1.15 else 'NOT met'})")


if __name__ == "__main__":
    main()
