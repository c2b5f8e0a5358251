"""Reports over a year of launches: 100,000 submissions against 1,000, written through pbt-track's own store.

    python benchmarks/report_scaling.py [ROUNDS]     # default 3
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from benchmarks.common import PBT_TRACK, alternate, peak_rss_mb, run, verdict


def build(workdir: Path, experiments: int, attempts: int) -> None:
    """A record of `experiments` experiments with `attempts` finished attempts each, history included.

    Written with the store's own bulk insert, ids chosen here, in one transaction.
    """
    from pbt_tracker.store import open_store, utcnow, writes

    store = open_store(workdir)
    now = utcnow()
    ended = now + timedelta(hours=1)
    per_launch = 100
    with store.write() as connection:
        launches, rows, submissions, changes = [], [], [], []
        submission_id = 0
        for first in range(0, experiments, per_launch):
            launch_id = first // per_launch + 1
            launches.append({
                "id": launch_id, "run_name": f"run{first // per_launch}", "run_module": "bench", "backend": "slurm",
                "workdir": str(workdir), "train_dir": "./train_dir", "experiment_suffix": "", "options": {},
                "template_path": None, "template_text": None, "print_only": False, "hostname": "bench",
                "username": "bench", "pbt_track_version": "bench", "created_at": now,
            })
            for position in range(per_launch):
                experiment_id = first + position + 1
                rows.append({
                    "id": experiment_id, "launch_id": launch_id, "position": position,
                    "name": f"{position:02d}_exp{first + position}", "base_name": "exp", "cmd": "python train.py",
                    "params": {"pbt.policy_idx": position}, "env_vars": None, "root_dir": "r", "train_dir": "t",
                })
                for attempt in range(1, attempts + 1):
                    submission_id += 1
                    state = "COMPLETED" if attempt == attempts else "FAILED"
                    submissions.append({
                        "id": submission_id, "experiment_id": experiment_id, "attempt": attempt,
                        "argv": ["sbatch", "x.sh"], "log_path": "l-%j.out", "state": state,
                        "job_id": str(1_000_000 + (first + position) * attempts + attempt),
                        "exit_code": 0 if state == "COMPLETED" else 1, "node": "n1", "intended_at": now,
                        "submitted_at": now, "started_at": now, "ended_at": ended, "updated_at": now,
                    })
                    changes.extend({"submission_id": submission_id, "state": s, "observed_at": now}
                                   for s in ("SUBMITTING", "SUBMITTED", "RUNNING", state))
        for table, values in (("launches", launches), ("experiments", rows), ("submissions", submissions),
                              ("state_changes", changes)):
            writes.insert_many(connection, table, values)
    store.close()


def main(rounds: int = 3) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="pbt-track-bench-"))
    big, small = scratch / "big", scratch / "small"
    try:
        build(big, 10_000, 10)
        build(small, 100, 10)
        seconds, peak = peak_rss_mb([PBT_TRACK, "report", "--workdir", str(big), "--no-sync", "--format", "json"])
        medians = alternate(
            {
                "big": lambda: run([PBT_TRACK, "report", "--workdir", str(big), "--no-sync", "--experiment",
                                    "42_exp5042"]),
                "small": lambda: run([PBT_TRACK, "report", "--workdir", str(small), "--no-sync", "--experiment",
                                      "42_exp42"]),
            },
            rounds,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"report over 100,000 submissions (10,000 experiments): json of all {seconds:.2f} s "
          f"(target <= 1.5 s), peak memory {peak:.0f} MB (target < 200 MB)")
    print(f"report --experiment X: 100,000 submissions {medians['big'] * 1000:.0f} ms, 1,000 submissions "
          f"{medians['small'] * 1000:.0f} ms; {verdict(medians['big'] / medians['small'], 1.2)}")


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:2]))
