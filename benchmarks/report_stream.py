"""`report --format json` and `--format csv` over 100,000 experiments beside 1,000: time, peak memory, time per row.

Records of 100,000, 1,000 and 10 experiments (one finished attempt each) are
written with the store's own bulk insert (benchmarks.report_scaling.build).
Each round runs every report as a fresh process, in alternating order, the
small ones five times; the figures are medians. A row's cost is the
report's CPU time (user and system) less that of the same report over 10
experiments (start-up, the imports, opening the record), divided by the rows
written: on a shared machine the wall time of a command is largely its wait
for a core, and both are printed. Targets: 100,000 rows in 1.5 s at most
with a peak of 100 MiB at most, and a row at 100,000 costing no more than
1.1x a row at 1,000 (the report streams: nothing grows with the record but
the time).

    python -m benchmarks.report_stream [ROUNDS]     # default 5
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import PBT_TRACK, REPO_ROOT
from benchmarks.report_scaling import build

SIZES = (100_000, 1_000, 10)
TARGET_SECONDS, TARGET_MIB, TARGET_PER_ROW = 1.5, 100.0, 1.1
SMALL_REPEATS = 5  # a row at 1,000 is a difference of a few milliseconds: the small reports run more often
_PROBE = (
    "import resource, subprocess, sys, time; start = time.perf_counter(); "
    "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
    "use = resource.getrusage(resource.RUSAGE_CHILDREN); "
    "print(time.perf_counter() - start, use.ru_utime + use.ru_stime, use.ru_maxrss / 1024)"
)


def measured(argv: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak resident memory (MiB) of one command, run in a fresh child."""
    out = subprocess.run([sys.executable, "-c", _PROBE, *argv], cwd=REPO_ROOT, capture_output=True, text=True,
                         check=True).stdout.split()
    return float(out[0]), float(out[1]), float(out[2])


def main(rounds: int = 5) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="pbt-track-bench-"))
    figures: dict[tuple[str, int], list[tuple[float, float, float]]] = {}
    try:
        for size in SIZES:
            build(scratch / str(size), size, 1)
        sides = [(output_format, size) for output_format in ("json", "csv") for size in SIZES]
        for index in range(rounds):
            for side in sides if index % 2 == 0 else reversed(sides):
                output_format, size = side
                for _ in range(1 if size == SIZES[0] else SMALL_REPEATS):
                    figures.setdefault(side, []).append(measured([PBT_TRACK, "report", "--workdir", str(scratch / str(size)),
                                                                  "--no-sync", "--format", output_format]))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"report --no-sync over one attempt per experiment, {rounds} rounds, load {os.getloadavg()[0]:.2f} "
          f"(medians; peak memory is the largest seen):")
    for output_format in ("json", "csv"):
        runs = {size: figures[(output_format, size)] for size in SIZES}
        wall = {size: statistics.median(run[0] for run in runs[size]) for size in SIZES}
        cpu = {size: statistics.median(run[1] for run in runs[size]) for size in SIZES}
        peak = {size: max(run[2] for run in runs[size]) for size in SIZES}
        per_row = {size: (cpu[size] - cpu[10]) / size * 1e6 for size in SIZES[:2]}
        ratio = per_row[100_000] / per_row[1_000]
        met = wall[100_000] <= TARGET_SECONDS and peak[100_000] <= TARGET_MIB and ratio <= TARGET_PER_ROW
        print(f"  --format {output_format}: " + " | ".join(
            f"{size:,} experiments {wall[size]:.3f} s ({cpu[size]:.3f} s of CPU), {peak[size]:.0f} MiB" for size in SIZES))
        print(f"    a row (CPU beyond the 10's): {per_row[100_000]:.1f} us at 100,000, {per_row[1_000]:.1f} us at 1,000: "
              f"ratio {ratio:.2f}; targets {TARGET_SECONDS:g} s, {TARGET_MIB:g} MiB, {TARGET_PER_ROW:g}x: "
              f"{'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:2]))
