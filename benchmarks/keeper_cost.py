"""What the keeper costs while it waits: scheduler calls per interval, CPU while idle, memory over a week.

Over 1,000 held jobs (they stay PENDING, so the keeper has nothing to do but
look), in one run:
- scheduler calls per interval with 10 and with 1,000 held jobs, counted by
  wrappers first on PATH over a few passes of the keeper's own loop (target:
  one call per interval whatever the number of jobs);
- the share of a core that `pbt-track watch` over the 1,000 jobs uses in a
  fixed window at the default interval (60 s), then at `--interval 5`, its own
  and with its children (the scheduler commands) (target: at most 0.5% at
  the default interval, squeue included);
- resident memory of the keeper's loop over the 1,000 jobs after 1, 1,000,
  5,000 and 10,080 passes (a week at the default interval), run back to back.
  A week of real squeue calls takes longer than the queue may be kept full
  on a shared cluster: the squeue answer about these jobs is recorded once,
  the jobs are cancelled, and a wrapper first on PATH replays that answer
  (byte for byte what Slurm said) to every later identical call, so each
  pass parses and records the same listing a real one would (target: at most
  100 MB, growth from pass 1,000 to pass 10,000 at most 2 MB).
The passes are counted in a child process that runs the keeper's own loop
(Keeper.run, lease heartbeat included) with a counter around each pass. Jobs
cancelled from outside end the run with a message, not with figures. Every
job it created is cancelled by its id.

    python -m benchmarks.keeper_cost [--window 180] [--week 10080] [--pass-interval 0.001]
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
POPULATION = 1000
CALL_PASSES = 5
TARGET_CPU = 0.005
TARGET_RSS_MB = 100.0
TARGET_GROWTH_MB = 2.0


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def drive(workdir: str, interval: float, passes: int, milestones: list[int]) -> None:
    """In a child process: the keeper's loop over `workdir` for `passes` passes; print RSS at each milestone."""
    from pbt_tracker.keeper.lease import Lease
    from pbt_tracker.keeper.loop import Keeper, WatchOptions, read_kept
    from pbt_tracker.store import open_store

    store = open_store(Path(workdir), create=False)
    keeper = Keeper(store, WatchOptions(interval=interval))
    keeper.lease = Lease(store, 60.0)  # the lease and its heartbeat as at the default interval; only the wait is short
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


def idle_cpu(work: Path, interval: str | None, window: float, settle: float = 5.0) -> tuple[float, float]:
    """`pbt-track watch` over the workdir: share of a core in `window`, own and with its children."""
    from benchmarks.common import PBT_TRACK, REPO_ROOT, cpu_seconds

    keeper = subprocess.Popen([PBT_TRACK, "watch", "--workdir", str(work), *(["--interval", interval] if interval else [])],
                              cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(settle)  # start-up and the first pass are not idling
        before = cpu_seconds(keeper.pid)
        started = time.monotonic()
        time.sleep(window)
        after = cpu_seconds(keeper.pid)
        elapsed = time.monotonic() - started
    finally:
        keeper.terminate()
        if keeper.wait(timeout=30) != 0:
            raise SystemExit(f"the keeper at interval {interval or 'default'} failed ({keeper.returncode}): "
                             f"{keeper.stderr.read() if keeper.stderr else ''}")
    return (after[0] - before[0]) / elapsed, (sum(after) - sum(before)) / elapsed


def replaying_squeue(directory: Path) -> dict[str, str]:
    """A squeue first on PATH that answers a call it saw before with the answer Slurm gave it then."""
    directory.mkdir(parents=True, exist_ok=True)
    real = shutil.which("squeue")
    wrapper = directory / "squeue"
    wrapper.write_text(
        "#!/bin/bash\n"
        f"answer={directory}/$(printf '%s\\0' \"$@\" | md5sum | cut -c1-32)\n"
        "if [ -f \"$answer\" ]; then cat \"$answer\"; exit 0; fi\n"
        f"{real} \"$@\" > \"$answer.new\" || exit $?\n"
        "mv \"$answer.new\" \"$answer\" && cat \"$answer\"\n")
    wrapper.chmod(0o755)
    return {"PATH": f"{directory}{os.pathsep}{os.environ['PATH']}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=180.0, help="seconds of idling measured (default 180)")
    parser.add_argument("--week", "--day", dest="day", type=int, default=10080,
                        help="passes of the memory run (default 10080: a week at 60 s)")
    parser.add_argument("--pass-interval", type=float, default=0.001, help="interval of the memory run (default 0.001)")
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
        works = {"10": _held(scratch, "ten", 10), "1000": _held(scratch, "thousand", POPULATION)}
        wrapped, log = counting_wrappers(scratch / "bin")
        calls = {}
        for jobs in ("10", "1000"):
            log.unlink(missing_ok=True)
            _drive_child(works[jobs], 0.5, CALL_PASSES, [CALL_PASSES], wrapped)
            calls[jobs] = Counter(name for name, _ in logged_calls(log))
        _cancel(works.pop("10"))
        print(f"load {os.getloadavg()[0]:.2f}; scheduler calls per interval over {CALL_PASSES} passes:")
        for jobs, counted in calls.items():
            per = {name: count / CALL_PASSES for name, count in sorted(counted.items())}
            text = ", ".join(f"{name} {count:g}" for name, count in per.items()) or "none"
            print(f"  {int(jobs):>5,} held jobs: {sum(per.values()):g} per interval ({text})")
        met = all(sum(counted.values()) == CALL_PASSES for counted in calls.values())
        print(f"  target: one call per interval whatever the number of jobs: {'met' if met else 'NOT met'}", flush=True)

        listed = _listed()
        shares = {label: idle_cpu(works["1000"], interval, window)
                  for label, interval, window in (("default", None, args.window), ("5", "5", args.window / 3))}
        print(f"load {os.getloadavg()[0]:.2f}; idle keeper over {POPULATION:,} held jobs (the user's squeue listing "
              f"{listed:,} jobs), windows of {args.window:g} s and {args.window / 3:g} s:")
        for label, (own, with_children) in shares.items():
            name = "default interval (60 s)" if label == "default" else f"--interval {label}"
            print(f"  {name}: {100 * own:.3f}% of a core, {100 * with_children:.3f}% with its scheduler calls")
        worst = shares["default"][1]
        print(f"  target: at most {100 * TARGET_CPU:g}% of a core while idle, default interval: "
              f"{'met' if worst <= TARGET_CPU else 'NOT met'}", flush=True)

        replay = replaying_squeue(scratch / "replay")
        _drive_child(works["1000"], args.pass_interval, 3, [3], replay)  # records Slurm's answers
        _cancel(works.pop("1000"))
        tenth = min(1000, args.day)
        milestones = sorted({1, tenth, args.day // 2, min(10_000, args.day), args.day})
        started = time.monotonic()
        marks = _drive_child(scratch / "thousand", args.pass_interval, args.day, milestones, replay)
        rss = dict(marks)
        growth = rss[min(10_000, args.day)] - rss[tenth]
        print(f"load {os.getloadavg()[0]:.2f}; keeper's loop over {POPULATION:,} held jobs, {args.day:,} passes at "
              f"{args.pass_interval:g} s ({time.monotonic() - started:.0f} s), squeue's answer replayed: RSS "
              + ", ".join(f"{mb:.1f} MB after {count:,}" for count, mb in marks))
        flat = growth <= TARGET_GROWTH_MB and max(rss.values()) <= TARGET_RSS_MB
        print(f"  growth from pass {tenth:,} to pass {min(10_000, args.day):,} {growth:+.2f} MB (target: at most "
              f"{TARGET_RSS_MB:g} MB, growth at most {TARGET_GROWTH_MB:g} MB: {'met' if flat else 'NOT met'})")
    finally:
        for work in works.values():
            _cancel(work)
        shutil.rmtree(scratch, ignore_errors=True)


def _cancel(work: Path) -> None:
    """Exactly the jobs this workdir's launch created, by their ids (its scancel.sh)."""
    if (work / "scancel.sh").exists():
        subprocess.run(["sh", str(work / "scancel.sh")], check=False, capture_output=True)


def _listed() -> int:
    """How many jobs the keeper's one squeue call lists: every job of the user that Slurm still shows."""
    import getpass

    from pbt_tracker.backends.slurm.output import squeue_argv

    listing = subprocess.run(squeue_argv([], user=getpass.getuser(), scripts=True), capture_output=True,
                             text=True).stdout
    return len(listing.splitlines())


if __name__ == "__main__":
    main()
