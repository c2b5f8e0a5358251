"""Reports over a year of launches: 100,000 submissions against 1,000, built with pbt-track's own models.

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
    """A record of `experiments` experiments with `attempts` finished attempts each, history included."""
    from pbt_tracker.store import open_store
    from pbt_tracker.store.models import Experiment, Launch, StateChange, Submission, utcnow

    store = open_store(workdir)
    now = utcnow()
    per_launch = 100
    with store.transaction() as session:
        for first in range(0, experiments, per_launch):
            launch = Launch(run_name=f"run{first // per_launch}", run_module="bench", backend="slurm",
                            workdir=str(workdir), train_dir="./train_dir", experiment_suffix="", options={},
                            template_path=None, template_text=None, print_only=False, hostname="bench",
                            username="bench", pbt_track_version="bench", created_at=now)
            session.add(launch)
            for position in range(per_launch):
                experiment = Experiment(launch=launch, position=position, name=f"{position:02d}_exp{first + position}",
                                        base_name="exp", cmd="python train.py", params={"pbt.policy_idx": position},
                                        env_vars=None, root_dir="r", train_dir="t")
                session.add(experiment)
                for attempt in range(1, attempts + 1):
                    job_id = str(1_000_000 + (first + position) * attempts + attempt)
                    state = "COMPLETED" if attempt == attempts else "FAILED"
                    submission = Submission(
                        experiment=experiment, attempt=attempt, argv=["sbatch", "x.sh"], log_path="l-%j.out",
                        state=state, job_id=job_id, exit_code=0 if state == "COMPLETED" else 1, node="n1",
                        intended_at=now, submitted_at=now, started_at=now, ended_at=now + timedelta(hours=1),
                        updated_at=now,
                    )
                    submission.state_changes += [StateChange(state=s, observed_at=now)
                                                 for s in ("SUBMITTING", "SUBMITTED", "RUNNING", state)]
                    session.add(submission)
            session.flush()
            session.expunge_all()
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
