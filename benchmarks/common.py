"""Timing helpers shared by the benchmarks: two sides, alternated, medians compared."""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PBT_TRACK = str(Path(sys.executable).parent / "pbt-track")


def _byte_compile_the_package() -> None:
    """pbt-track as pip installs it: byte-compiled, as the three imports it is measured against already are.

    An editable checkout under PYTHONDONTWRITEBYTECODE (set on this machine) would
    otherwise compile every module again in every process measured. Forced: a
    source edited within the second its cache was written keeps that cache's
    time, which compileall trusts and the import refuses (the size differs), so
    that module alone would be compiled in every process.
    """
    import compileall

    for folder in ("pbt_tracker", "migrations"):
        compileall.compile_dir(str(REPO_ROOT / folder), quiet=1, force=True)


_byte_compile_the_package()


def run(argv: list[str], env: dict[str, str] | None = None) -> float:
    """Wall time of one command, which must succeed."""
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO_ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"benchmark command failed ({done.returncode}): {' '.join(argv)}\n{done.stderr}")
    return elapsed


def record_population(scratch: Path, policies: int) -> Path:
    """A print-only launch of `policies` PBT policies (benchmarks.pbt_population) in `scratch/w`: its workdir."""
    work = scratch / "w"
    run([PBT_TRACK, "submit", "--run", "benchmarks.pbt_population", "--backend", "slurm", "--workdir", str(work),
         "--slurm_print_only", "true", "--train_dir", str(scratch / "train")],
        {"PBT_TRACK_BENCH_POLICIES": str(policies), "PYTHONPATH": str(REPO_ROOT)})
    return work


def peak_rss_mb(argv: list[str]) -> tuple[float, float]:
    """Wall time and peak resident memory (MB) of one command, measured in a fresh child."""
    probe = (
        "import resource, subprocess, sys, time; start = time.perf_counter(); "
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
        "print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)"
    )
    out = subprocess.run([sys.executable, "-c", probe, *argv], cwd=REPO_ROOT, capture_output=True, text=True,
                         check=True).stdout.split()
    return float(out[0]), float(out[1])


def alternate(sides: dict[str, Callable[[], float]], rounds: int,
              between: Callable[[], None] | None = None) -> dict[str, float]:
    """Run each side once per round, in alternating order, and return each side's median time."""
    times: dict[str, list[float]] = {name: [] for name in sides}
    names = list(sides)
    for index in range(rounds):
        for name in names if index % 2 == 0 else reversed(names):
            times[name].append(sides[name]())
            if between:
                between()
    return {name: statistics.median(values) for name, values in times.items()}


def verdict(ratio: float, target: float, below: bool = True) -> str:
    met = ratio <= target if below else ratio >= target
    return f"ratio {ratio:.2f} (target {'<=' if below else '>='} {target:g}: {'met' if met else 'NOT met'})"


SCHEDULER_COMMANDS = ("sbatch", "squeue", "sacct", "scancel", "scontrol")


def counting_wrappers(directory: Path) -> tuple[dict[str, str], Path]:
    """Wrappers around the real scheduler commands that log each call and its wall time.

    Returns the environment that puts them first on PATH, and the log they append
    to (`name start end` per call, bash's clock); beside it, `calls.cpu` gets
    bash's `times` per call (the CPU seconds of the wrapper and of the command it
    ran). What bash costs to start a wrapper is left out of the logged wall
    time, so it counts as pbt-track's own.
    """
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "calls.log"
    for name in SCHEDULER_COMMANDS:
        real = shutil.which(name)
        if real is None:
            continue
        wrapper = directory / name
        wrapper.write_text(f'#!/bin/bash\nstart=$EPOCHREALTIME\n{real} "$@"\nrc=$?\n'
                           f'echo "{name} $start $EPOCHREALTIME" >> {log}\ntimes >> {log.with_suffix(".cpu")}\nexit $rc\n')
        wrapper.chmod(0o755)
    return {"PATH": f"{directory}{os.pathsep}{os.environ['PATH']}"}, log


def wait_for_idle_controller(limit: float = 60.0) -> None:
    """Until slurmctld has spent no CPU for a second: on this one-node cluster it shares the benchmark's 2 cores.

    A burst of submissions keeps the controller (and slurmdbd, MariaDB) busy
    for seconds after sbatch has answered; a command measured meanwhile
    would count their work as its own.
    """
    pids = [pid for pid in os.listdir("/proc") if pid.isdigit() and _command_name(pid) == "slurmctld"]
    deadline = time.monotonic() + limit
    before = _controller_cpu(pids)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = _controller_cpu(pids)
        if now == before:
            return
        before = now


def _command_name(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _controller_cpu(pids: list[str]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)[0]
        except OSError:  # it stopped meanwhile
            continue
    return total


def cpu_seconds(pid: int | str) -> tuple[float, float]:
    """Own CPU seconds of a process, and those of its children it has waited for, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick


def logged_calls(log: Path) -> list[tuple[str, float]]:
    """The calls logged since the log was last removed: (command, seconds)."""
    if not log.exists():
        return []
    calls = []
    for line in log.read_text().splitlines():
        name, start, end = line.split()
        calls.append((name, float(end) - float(start)))
    return calls


def logged_cpu(log: Path) -> float:
    """CPU seconds of every logged call, its wrapper's bash included (bash's `times`: 0m0.003s, two per line)."""
    cpu_log = log.with_suffix(".cpu")
    if not cpu_log.exists():
        return 0.0
    total = 0.0
    for line in cpu_log.read_text().splitlines():
        for value in line.split():
            minutes, _, seconds = value.rstrip("s").partition("m")
            total += int(minutes) * 60 + float(seconds)
    return total


def run_with_cpu(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall time and CPU seconds (user + system) of one command that must succeed, its own children included."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    elapsed = run(argv, env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return elapsed, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
