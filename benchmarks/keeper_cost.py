"""What the keeper costs while it waits: scheduler calls per interval, CPU while idle, memory over a day.

Three figures in one run, over held jobs (they stay PENDING, so the keeper
has nothing to do but look):
- the share of a core that `pbt-track watch` over a population of 64 held
  jobs uses in a fixed window, at the default interval and at `--interval 5`,
  its own and with its children (the scheduler commands) (target: under 1%
  at the default interval);
- resident memory of the keeper's loop over that population after the first
  pass, N, 5 N and 10 N passes, where 10 N = 1,440 passes is a day at the
  default interval, run with a short interval (target: under 100 MB, and
  growth from N to 10 N under 5 MB);
- scheduler calls per interval with 10 and with 1,000 held jobs, counted by
  wrappers first on PATH over a few passes of the keeper's own loop (target:
  one call per interval whatever the number of jobs). Last, because the
  1,000 jobs stay in every squeue listing for MinJobAge after they end.
The passes are counted in a child process that runs the keeper's own loop
(Keeper.run, lease heartbeat included) with a counter around each pass. Jobs
cancelled from outside end the run with a message, not with figures.

    python -m benchmarks.keeper_cost [--window 180] [--day 1440] [--pass-interval 0.05]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HELD_TEMPLATE = "tests/fixtures/held_template.sh"
POPULATION = 64
CALL_PASSES = 5
TARGET_CPU = 0.01
TARGET_RSS_MB = 100.0
TARGET_GROWTH_MB = 5.0


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def drive(workdir: str, interval: float, passes: int, milestones: list[int]) -> None:
    """In a child process: the keeper's loop over `workdir` for `passes` passes; print RSS at each milestone."""
    from pbt_tracker.keeper.loop import Keeper, WatchOptions, read_kept
    from pbt_tracker.store import open_store

    store = open_store(Path(workdir), create=False)
    keeper = Keeper(store, WatchOptions(interval=interval))
    done = 0
    one_pass = keeper.one_pass

    def counted(first: bool = False) -> str:
        nonlocal done
        outcome = one_pass(first)
        done += 1
        if done in milestones:
            print(f"{done} {_rss_mb():.2f}", flush=True)
        if done >= passes:
            keeper.stop.set()
        return outcome

    keeper.one_pass = counted  # type: ignore[method-assign]
    try:
        outcome = keeper.run()
        if done < passes:
            found = Counter(item.attempts[-1].state for item in read_kept(store, keeper.options.selection))
            raise SystemExit(f"the keeper stopped after {done} of {passes} passes ({outcome}); the jobs are "
                             f"{dict(found)}: were they cancelled from outside?")
    finally:
        store.close()


def _drive_child(workdir: Path, interval: float, passes: int, milestones: list[int],
                 env: dict[str, str] | None = None) -> list[tuple[int, float]]:
    from benchmarks.common import REPO_ROOT

    argv = [sys.executable, "-m", "benchmarks.keeper_cost", "--drive", str(workdir), "--pass-interval",
            str(interval), "--day", str(passes), "--milestones", ",".join(map(str, milestones))]
    done = subprocess.run(argv, cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})},
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the keeper's loop failed ({done.returncode}): {done.stderr.strip()}")
    return [(int(count), float(mb)) for count, mb in (line.split() for line in done.stdout.splitlines())]


def _held(scratch: Path, name: str, jobs: int) -> Path:
    """`jobs` held jobs recorded in scratch/name, synced once so that they are PENDING on record."""
    from benchmarks.common import PBT_TRACK, REPO_ROOT, run

    work = scratch / name
    run([PBT_TRACK, "submit", "--run", "benchmarks.pbt_population", "--backend", "slurm", "--workdir", str(work),
         "--slurm_sbatch_template", str(REPO_ROOT / HELD_TEMPLATE), "--slurm_cpus_per_gpu", "1",
         "--pause_between", "0", "--train_dir", str(scratch / f"train_{name}")],
        {"PBT_TRACK_BENCH_POLICIES": str(jobs), "PYTHONPATH": str(REPO_ROOT)})
    run([PBT_TRACK, "sync", "--workdir", str(work)])
    return work


def idle_cpu(works: dict[str, Path], window: float, settle: float = 5.0) -> dict[str, tuple[float, float]]:
    """`pbt-track watch` over each workdir, side by side: share of a core in `window`, own and with children."""
    from benchmarks.common import PBT_TRACK, REPO_ROOT, cpu_seconds

    keepers = {}
    for label, work in works.items():
        interval = [] if label == "default" else ["--interval", label]
        keepers[label] = subprocess.Popen([PBT_TRACK, "watch", "--workdir", str(work), *interval], cwd=REPO_ROOT,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(settle)  # start-up and the first pass are not idling
        before = {label: cpu_seconds(keeper.pid) for label, keeper in keepers.items()}
        started = time.monotonic()
        time.sleep(window)
        after = {label: cpu_seconds(keeper.pid) for label, keeper in keepers.items()}
        elapsed = time.monotonic() - started
    finally:
        for keeper in keepers.values():
            keeper.terminate()
        for label, keeper in keepers.items():
            if keeper.wait(timeout=30) != 0:
                raise SystemExit(f"the keeper at interval {label} failed ({keeper.returncode}): {keeper.stderr.read()}")
    return {label: ((after[label][0] - before[label][0]) / elapsed,
                    (sum(after[label]) - sum(before[label])) / elapsed) for label in keepers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=180.0, help="seconds of idling measured (default 180)")
    parser.add_argument("--day", type=int, default=1440, help="passes that make a day (default 1440)")
    parser.add_argument("--pass-interval", type=float, default=0.05, help="interval of the memory run (default 0.05)")
    parser.add_argument("--drive", help=argparse.SUPPRESS)
    parser.add_argument("--milestones", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        drive(args.drive, args.pass_interval, args.day, [int(m) for m in args.milestones.split(",")])
        return
    from benchmarks.common import counting_wrappers, logged_calls

    scratch = Path(tempfile.mkdtemp(prefix="pbt-track-keeper-cost-"))
    works: dict[str, Path] = {}
    try:
        works = {"default": _held(scratch, "population", POPULATION), "5": _held(scratch, "population5", POPULATION)}
        listed = _listed()
        shares = idle_cpu({"default": works["default"], "5": works["5"]}, args.window)
        print(f"load {os.getloadavg()[0]:.2f}; idle keeper over {POPULATION} held jobs, {args.window:g} s window, "
              f"squeue listing {listed:,} jobs of the user:")
        for label, (own, with_children) in shares.items():
            name = "default interval (60 s)" if label == "default" else f"--interval {label}"
            print(f"  {name}: {100 * own:.3f}% of a core, {100 * with_children:.3f}% with its scheduler calls")
        worst = shares["default"][1]
        print(f"  target: under {100 * TARGET_CPU:g}% of a core while idle, default interval: "
              f"{'met' if worst < TARGET_CPU else 'NOT met'}")

        tenth, day = max(1, args.day // 10), args.day
        started = time.monotonic()
        marks = _drive_child(works["default"], args.pass_interval, day, [1, tenth, day // 2, day])
        rss = dict(marks)
        growth = rss[day] - rss[tenth]
        print(f"load {os.getloadavg()[0]:.2f}; keeper's loop over {POPULATION} held jobs, {day:,} passes at "
              f"{args.pass_interval:g} s ({time.monotonic() - started:.0f} s): RSS "
              + ", ".join(f"{mb:.1f} MB after {count:,}" for count, mb in marks))
        flat = growth < TARGET_GROWTH_MB and max(rss.values()) < TARGET_RSS_MB
        print(f"  growth from {tenth:,} to {day:,} passes {growth:+.2f} MB (target: under {TARGET_RSS_MB:g} MB, "
              f"growth under {TARGET_GROWTH_MB:g} MB: {'met' if flat else 'NOT met'})")

        works.update({"10": _held(scratch, "ten", 10), "1000": _held(scratch, "thousand", 1000)})
        wrapped, log = counting_wrappers(scratch / "bin")
        calls = {}
        for jobs in ("10", "1000"):
            log.unlink(missing_ok=True)
            _drive_child(works[jobs], 0.5, CALL_PASSES, [CALL_PASSES], wrapped)
            calls[jobs] = Counter(name for name, _ in logged_calls(log))
        print(f"load {os.getloadavg()[0]:.2f}; scheduler calls per interval over {CALL_PASSES} passes:")
        for jobs, counted in calls.items():
            per = {name: count / CALL_PASSES for name, count in sorted(counted.items())}
            text = ", ".join(f"{name} {count:g}" for name, count in per.items()) or "none"
            print(f"  {int(jobs):>5,} held jobs: {sum(per.values()):g} per interval ({text})")
        met = all(sum(counted.values()) == CALL_PASSES for counted in calls.values())
        print(f"  target: one call per interval whatever the number of jobs: {'met' if met else 'NOT met'}")
    finally:
        for work in works.values():
            if (work / "scancel.sh").exists():
                subprocess.run(["sh", str(work / "scancel.sh")], check=False, capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)


def _listed() -> int:
    """How many jobs the keeper's one squeue call lists: every job of the user that Slurm still shows."""
    import getpass

    from pbt_tracker.backends.slurm.output import squeue_argv

    listing = subprocess.run(squeue_argv([], user=getpass.getuser(), scripts=True), capture_output=True,
                             text=True).stdout
    return len(listing.splitlines())


if __name__ == "__main__":
    main()
