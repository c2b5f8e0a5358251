"""A PBT replacement a job made just before its time limit survives the job's end, on the real cluster.

The toy policy saves iteration 11, takes policy 0's weights (a copy in its
temporary directory) with mutated parameters, restarts, and then saves
nothing for 10 s, as IsaacGymEnvs does after any start; an 18-s limit ends
the job inside that quiet window. Policy 0's iteration 5 is written by the
test beforehand, with weights far from anything policy 1 reaches itself.
"""

from __future__ import annotations

import getpass
import json
import re
import time
from pathlib import Path

import pytest
import yaml

from pbt_tracker.examples.toy_pbt_train import State, objective, save
from pbt_tracker.pbt.decisions import COPY_DIR
from pbt_tracker.pbt.lineage import parse_start_args
from pbt_tracker.report.decisions import decisions_undone
from pbt_tracker.templates import template_path
from tests.conftest import query
from tests.slurm.test_resume_on_slurm import pbt_track, wait_until_final

pytestmark = pytest.mark.slurm

DONOR_WEIGHTS = [90.0, 90.0, 90.0, 90.0]  # objective about -30,000: policy 1's own weights stay near 100
RUN_DIR = Path("train_dir") / "toy_decision" / "toy_decision_"


def seed_donor(base: Path) -> None:
    policy_dir = base / RUN_DIR / "runs" / "ws" / "000"
    policy_dir.mkdir(parents=True)
    save(policy_dir, State(5, 5000, DONOR_WEIGHTS, {"toy.learning_rate": 0.01, "toy.noise_scale": 1.0}),
         objective(DONOR_WEIGHTS), "donor_life")


def submit(base: Path, *options: str) -> None:
    launched = pbt_track(base, "submit", "--run", "tests.fixtures.toy_pbt_decision", "--backend", "slurm",
                         "--workdir", "w", "--train_dir", "train_dir", "--slurm_cpus_per_gpu", "1",
                         "--slurm_gpus_per_job", "0", "--pause_between", "0", *options)
    assert launched.returncode == 0, launched.stdout + launched.stderr


def restart_args_in(log: Path) -> tuple[str, ...]:
    """The command line the policy restarted itself with after its replacement (the one with a checkpoint)."""
    lines = [line for line in log.read_text().splitlines() if "Restarting self with args" in line and "checkpoint=" in line]
    assert len(lines) == 1, log.read_text()
    args = parse_start_args(lines[0].split("Restarting self with args ", 1)[1])
    assert args is not None
    return args


def value(args: tuple[str, ...], key: str) -> str:
    return [arg.split("=", 1)[1] for arg in args if arg.lstrip("+").split("=", 1)[0] == key][-1]


def test_a_replacement_made_just_before_the_time_limit_is_carried_by_the_continuation(tmp_path: Path) -> None:
    seed_donor(tmp_path)
    submit(tmp_path, "--slurm_sbatch_template", str(template_path("timeout_continue")), "--slurm_timeout", "18")
    work = tmp_path / "w"
    deadline = time.monotonic() + 240
    while len(query(work / "pbt_tracker.db", "SELECT id FROM submissions")) < 2:
        assert time.monotonic() < deadline
        time.sleep(2)
    rows = wait_until_final(tmp_path, timeout=240)

    assert [(row["attempt"], row["state"]) for row in rows] == [(2, "COMPLETED")]
    [(first_log, first_id), (second_log, second_id)] = [
        (Path(path.replace("%j", job)), submission) for path, job, submission in query(
            work / "pbt_tracker.db", "SELECT log_path, job_id, id FROM submissions ORDER BY attempt")]
    args = restart_args_in(first_log)
    copy = value(args, "checkpoint")
    run_dir = (tmp_path / RUN_DIR).resolve()
    name = value(args, "full_experiment_name")
    # IsaacGymEnvs' copy went to the job's TMPDIR, on the shared filesystem under the run dir.
    assert copy == str(run_dir / COPY_DIR / f"ige_{getpass.getuser()}" / f"{name}_p1" / "000005.pth")
    params = {key: value(args, key) for key in ("toy.learning_rate", "toy.noise_scale")}
    # The continuation started from that copy, with the mutated parameters.
    said = (f"Policy 1: PBT init. Env frames: 11000, pbt_iteration: 11, checkpoint {copy}, params "
            + " ".join(f"{key}={float(text):.4g}" for key, text in params.items()))
    assert said in second_log.read_text().splitlines()
    [(outcome, by, detail)] = query(work / "pbt_tracker.db",
                                    "SELECT outcome, outcome_submission_id, outcome_detail FROM pbt_starts")
    assert (outcome, by) == ("carried", second_id)
    assert detail == f"carries its replacement by policy 0's weights after iteration 11 (checkpoint {copy})"
    [(history,)] = query(work / "pbt_tracker.db", "SELECT detail FROM state_changes WHERE submission_id = ? "
                      "AND state = 'SUBMITTING'", second_id)
    assert history == f"continue: continues policy 1 from its decision after iteration 11; {detail}"
    saved = yaml.safe_load((run_dir / "runs" / "ws" / "001" / "000023.yaml").read_text())
    assert saved["params"] == {key: float(text) for key, text in params.items()}
    assert saved["experiment_name"] == name
    assert saved["true_objective"] < 0  # policy 0's weights, far from the top: its own would be near 100
    # Its next save made the copy useless: the sync of the report above removed it, and says so in the record.
    assert not Path(copy).exists()
    assert query(work / "pbt_tracker.db", "SELECT cleaned_at IS NOT NULL FROM pbt_starts") == [(1,)]
    assert decisions_undone(work) == 0
    assert first_id < second_id


def test_a_replacement_whose_copy_is_gone_is_marked_undone_everywhere(tmp_path: Path) -> None:
    """The template's own TMPDIR line stands for a node's /tmp: the test removes it, as another node lacks it."""
    local = tmp_path / "nodelocal"
    (tmp_path / "template.sh").write_text(f"#!/bin/bash\nexport TMPDIR={local}\nmkdir -p {local}\ntimeout 18 $CMD\n")
    seed_donor(tmp_path)
    submit(tmp_path, "--slurm_sbatch_template", "template.sh")
    work = tmp_path / "w"
    [row] = wait_until_final(tmp_path, timeout=240)
    assert (row["state"], row["exit_code"]) == ("FAILED", 124)
    [(log_path, job)] = query(work / "pbt_tracker.db", "SELECT log_path, job_id FROM submissions")
    copy = value(restart_args_in(Path(log_path.replace("%j", job))), "checkpoint")
    assert copy.startswith(f"{local}/ige_")
    for path in sorted(local.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()

    watch = ("watch", "--workdir", "w", "--once", "--resume-failed", "--on-event", f"tee -a {tmp_path / 'events'}")
    resumed = pbt_track(tmp_path, *watch)

    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    experiment = row["experiment"]
    undone = (f"its replacement by policy 0's weights after iteration 11 is undone: its checkpoint copy {copy} "
              "is gone")
    [(outcome, detail)] = query(work / "pbt_tracker.db", "SELECT outcome, outcome_detail FROM pbt_starts")
    assert (outcome, detail) == ("undone", undone)
    [final] = wait_until_final(tmp_path, timeout=240)
    assert (final["attempt"], final["state"]) == (2, "COMPLETED")
    told = pbt_track(tmp_path, *watch)
    assert told.returncode == 0, told.stdout + told.stderr
    events = [json.loads(line) for line in (tmp_path / "events").read_text().splitlines()]
    assert [(event["event"], event["reason"], event["attempt"]) for event in events
            if event["event"] == "decision-undone"] == [("decision-undone", f"{experiment} attempt 1: {undone}", 2)]

    report = pbt_track(tmp_path, "report", "--workdir", "w", "--pbt", "--no-sync", "--wide")
    assert f"PBT decision undone: {experiment} attempt 1: {undone}" in report.stdout.splitlines()
    show = pbt_track(tmp_path, "show", experiment, "--workdir", "w", "--no-sync")
    assert re.search(r"attempt 1  took policy 0's weights after iteration 11 \(checkpoint .*\)  UNDONE: "
                     + re.escape(undone), show.stdout), show.stdout
    plotted = pbt_track(tmp_path, "plot", "--workdir", "w", "--no-sync", "--output", str(tmp_path / "p.png"))
    # its FAILED 124 is a crash: the template's `timeout 18` is no `timeout $TIMEOUT`, as the keeper reads it too
    assert plotted.stdout.rstrip().endswith(
        "1 later attempt(s), 1 crash(es), 2 keeper decision(s), 1 decision(s) undone."), plotted.stdout
    assert decisions_undone(work) == 1
