"""A policy never runs twice and never starts over, on the real cluster: a requeue by `scontrol requeue`, two
jobs of one sbatch at once (as a retried sbatch whose answer was lost leaves them), and the original launcher's
time-limit chain (`sbatch $FILENAME` at `timeout`'s 124).

The policy is the toy PBT trainer, one policy of sixteen half-second iterations: its workspace says whether it
ever started over (a new life writes a new experiment name from iteration 1 again).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT, query
from tests.slurm.conftest import job_info, start_requeued_now, wait_for_state
from tests.slurm.test_resume_on_slurm import pbt_track

RUN = "tests.fixtures.toy_pbt_one"
NAME = "00_toy_one"
FINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY"}


@pytest.fixture
def cwd(tmp_path: Path):
    """The launch directory; every job that ran one of its recorded scripts is cancelled afterwards."""
    yield tmp_path
    db = tmp_path / "w" / "pbt_tracker.db"
    if not db.exists():
        return
    ids = {job_id for (job_id,) in query(db, "SELECT job_id FROM submissions WHERE job_id IS NOT NULL")}
    scripts = {path for (path,) in query(db, "SELECT path FROM scripts")}
    listing = subprocess.run(["squeue", "--noheader", "-O", "JobID:|,Command:|"], capture_output=True, text=True)
    for line in listing.stdout.splitlines():
        job_id, _, command = line.partition("|")
        if command.rstrip("|") in scripts:
            ids.add(job_id.strip())
    if ids:
        subprocess.run(["scancel", *sorted(ids)], capture_output=True)


def submit(cwd: Path, template: str, *extra: str) -> Path:
    (cwd / "template.sh").write_text(template)
    done = pbt_track(cwd, "submit", "--run", RUN, "--backend", "slurm", "--workdir", "w", "--train_dir", "train_dir",
                     "--slurm_sbatch_template", "template.sh", "--slurm_cpus_per_gpu", "1",
                     "--slurm_gpus_per_job", "0", "--pause_between", "0", *extra)
    assert done.returncode == 0, done.stdout + done.stderr
    return cwd / "w"


def policy_dir(cwd: Path) -> Path:
    return cwd / "train_dir" / "toy_one" / "toy_one_" / "runs" / "ws" / "000"


def lives(cwd: Path) -> dict[int, str]:
    """Iteration -> the experiment name that wrote it: one name is one life of the policy."""
    return {int(path.stem): yaml.safe_load(path.read_text())["experiment_name"]
            for path in sorted(policy_dir(cwd).glob("0*.yaml"))}


def wait_until(condition, what: str, timeout: float = 120) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} after {timeout} s"
        time.sleep(0.3)


def notes(work: Path) -> list[tuple[int, str, str]]:
    return query(work / "pbt_tracker.db", "SELECT s.attempt, c.observed_at, c.detail FROM state_changes c "
                 "JOIN submissions s ON s.id = c.submission_id WHERE c.detail LIKE '%policy 0%' ORDER BY c.id")


def log_of(work: Path, job_id: str) -> str:
    [(pattern,)] = query(work / "pbt_tracker.db", "SELECT log_path FROM submissions WHERE attempt = 1")
    return Path(pattern.replace("%j", job_id)).read_text()


def test_a_requeued_first_attempt_continues_its_policy_from_the_latest_checkpoint(cwd: Path) -> None:
    work = submit(cwd, "#!/bin/bash\n#SBATCH --time=5\n$CMD\n")
    [(job,)] = query(work / "pbt_tracker.db", "SELECT job_id FROM submissions")
    wait_until(lambda: (policy_dir(cwd) / "000003.yaml").exists(), "no third iteration")
    first_file = policy_dir(cwd) / "000001.yaml"
    first_life, first_written = first_file.read_bytes(), first_file.stat().st_mtime_ns

    subprocess.run(["scontrol", "requeue", job], check=True)
    wait_for_state(job, {"PENDING"})
    start_requeued_now(job)
    info = wait_for_state(job, FINAL, timeout=180)

    assert (info["JobState"], info["Restarts"]) == ("COMPLETED", "1")
    assert pbt_track(cwd, "sync", "--workdir", "w").returncode == 0
    [(attempt, _at, said)] = notes(work)
    found = re.fullmatch(r"requeued \(restart 1\): continues policy 0 from iteration (\d+) \(checkpoint (.+)\)", said)
    assert attempt == 1 and found, said
    assert int(found.group(1)) >= 3 and found.group(2) == str(policy_dir(cwd) / f"{int(found.group(1)):06d}.pth")
    shown = pbt_track(cwd, "show", NAME, "--workdir", "w", "--no-sync")
    assert f"  RUNNING  {said}" in shown.stdout
    written = lives(cwd)
    assert sorted(written) == list(range(1, 17)) and len(set(written.values())) == 1  # one life, to its end
    assert (first_file.read_bytes(), first_file.stat().st_mtime_ns) == (first_life, first_written)  # never redone


def test_two_jobs_of_one_sbatch_started_at_once_run_the_policy_once(cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both carry the attempt's tag, as a retried sbatch whose first answer was lost leaves them; both become
    eligible at one moment (an absolute --begin), so Slurm starts them side by side."""
    monkeypatch.setenv("PBT_TRACK_CLAIM_WAIT", "4")  # sbatch passes it on to both jobs
    begin = (datetime.now() + timedelta(seconds=8)).strftime("%Y-%m-%dT%H:%M:%S")
    work = submit(cwd, f"#!/bin/bash\n#SBATCH --begin={begin}\n$CMD\n")
    [(first, argv)] = query(work / "pbt_tracker.db", "SELECT job_id, argv FROM submissions")
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                   "PYTHONPATH": str(REPO_ROOT)}
    again = subprocess.run(json.loads(argv), cwd=cwd, capture_output=True, text=True, check=True, env=environment)
    second = again.stdout.strip()

    infos = {job: wait_for_state(job, FINAL, timeout=180) for job in (first, second)}

    starts = [datetime.fromisoformat(infos[job]["StartTime"]) for job in (first, second)]
    assert abs((starts[0] - starts[1]).total_seconds()) <= 2, starts  # side by side
    logs = {job: log_of(work, job) for job in (first, second)}
    ran = [job for job, text in logs.items() if "Policy 0: started without ++pbt_restart=True" in text]
    assert len(ran) == 1, logs
    [waited] = [job for job in logs if job not in ran]
    assert "Policy 0" not in logs[waited]
    assert re.search(rf"pbt-track: {NAME} is still claimed after \d+ s \(job {ran[0]} runs {NAME} as attempt .+\); "
                     rf"job {waited} does not run it", logs[waited]), logs[waited]
    assert {infos[job]["JobState"] for job in logs} == {"COMPLETED"}
    written = lives(cwd)
    assert sorted(written) == list(range(1, 17)) and len(set(written.values())) == 1


# The original launcher's time-limit template (sbatch_timeout.sh), its lines as they are. The two lines added
# keep each job alive after it sent its successor, as a job with clean-up to do would: until Slurm has started
# the successor beside it (at most 60 s), and 2 s more.
CHAINING_TEMPLATE = """#!/bin/bash
#SBATCH --job-name=chain
timeout $TIMEOUT $CMD
if [[ $$? -eq 124 ]]; then
    sbatch $PARTITION--gres=gpu:$GPU -c $CPU --parsable --output $FILENAME-slurm-%j.out $FILENAME
    for i in $$(seq 120); do squeue -h -t R -o '%i %o' | grep -v "^$$SLURM_JOB_ID " | grep -qF " $FILENAME" && break; sleep 0.5; done
    sleep 2
fi
"""


def test_the_originals_time_limit_chain_continues_from_each_checkpoint_and_never_beside_its_predecessor(
    cwd: Path
) -> None:
    work = submit(cwd, CHAINING_TEMPLATE, "--slurm_timeout", "4")
    db = work / "pbt_tracker.db"
    [(script,)] = query(db, "SELECT path FROM scripts WHERE path NOT LIKE '%continuations%'")

    def chain_over() -> bool:
        listing = subprocess.run(["squeue", "--noheader", "-O", "Command:|"], capture_output=True, text=True).stdout
        return (policy_dir(cwd) / "000016.yaml").exists() and script not in listing

    wait_until(chain_over, "the chain did not finish", timeout=240)
    assert pbt_track(cwd, "sync", "--workdir", "w").returncode == 0

    attempts = query(db, "SELECT attempt, job_id, origin, ended_at FROM submissions ORDER BY attempt")
    assert len(attempts) >= 3 and [origin for _a, _j, origin, _e in attempts] == ["launch"] + ["chain"] * (
        len(attempts) - 1)
    logs = {job: log_of(work, job) for _a, job, _o, _e in attempts}
    assert "Policy 0: started without ++pbt_restart=True" in logs[attempts[0][1]]
    starts = {attempt: (at, said) for attempt, at, said in notes(work)}
    continued_from = []
    for (attempt, job, _origin, _ended), (_p, before, _o, before_ended) in zip(attempts[1:], attempts):
        at, said = starts[attempt]
        found = re.fullmatch(rf"a job of attempt {attempt - 1}'s script that pbt-track did not send: continues "
                             r"policy 0 from iteration (\d+) \(checkpoint .+\)", said)
        assert found, said
        continued_from.append(int(found.group(1)))
        assert "started without ++pbt_restart=True" not in logs[job]  # no link starts the policy over
        # its command ran only once its predecessor had ended (the record's times are UTC, to the microsecond)
        assert datetime.fromisoformat(at) >= datetime.fromisoformat(before_ended) - timedelta(seconds=1), (
            job, at, before, before_ended)
    assert continued_from == sorted(set(continued_from)) and continued_from[0] >= 1
    for (_attempt, job, _o, _e), (_p, before, _b, _ended) in zip(attempts[1:], attempts):  # started beside, it waited
        waited = rf"pbt-track: {NAME} is claimed \(job {before} runs {NAME} as .+\); job {job} waits up to 60 s"
        assert re.search(waited, logs[job]), logs[job]
    written = lives(cwd)
    assert sorted(written) == list(range(1, 17)) and len(set(written.values())) == 1
    assert job_info(attempts[-1][1])["JobState"] == "COMPLETED"


def test_a_job_killed_with_kill_9_leaves_no_claim_behind_and_its_next_attempt_starts_at_once(cwd: Path) -> None:
    work = submit(cwd, "#!/bin/bash\n$CMD\n")
    [(job,)] = query(work / "pbt_tracker.db", "SELECT job_id FROM submissions")
    wait_until(lambda: (policy_dir(cwd) / "000003.yaml").exists(), "no third iteration")
    claim = cwd / "train_dir" / "toy_one" / "toy_one_" / ".pbt-track" / f"{NAME}.lock"
    assert claim.read_text().startswith(f"job {job} runs {NAME} as attempt 1 ")  # it holds the claim
    listed = subprocess.run(["scontrol", "listpids", job], capture_output=True, text=True, check=True).stdout
    pids = [int(line.split()[0]) for line in listed.splitlines()[1:] if line.split()[1:2] == [job]]
    assert len(pids) >= 2, listed  # the script's shell and the policy it runs

    for pid in pids:  # every process of the job, as the OOM killer or an administrator would
        subprocess.run(["kill", "-9", str(pid)], capture_output=True)
    wait_for_state(job, FINAL)
    resubmitted = pbt_track(cwd, "resubmit-failed", "--workdir", "w")

    assert resubmitted.returncode == 0, resubmitted.stdout + resubmitted.stderr
    assert re.match(rf"{NAME}: continues policy 0 from iteration \d+ ", resubmitted.stdout), resubmitted.stdout
    [(second,)] = query(work / "pbt_tracker.db", "SELECT job_id FROM submissions WHERE attempt = 2")
    assert wait_for_state(second, FINAL, timeout=180)["JobState"] == "COMPLETED"
    [(pattern,)] = query(work / "pbt_tracker.db", "SELECT log_path FROM submissions WHERE attempt = 2")
    log = Path(pattern.replace("%j", second)).read_text()
    assert "pbt-track:" not in log and "Policy 0: PBT init." in log  # no claim to wait for, no note: a first start
    assert claim.read_text().startswith(f"job {second} runs {NAME} as attempt 2 ")  # the killed job's went with it
    written = lives(cwd)
    assert sorted(written) == list(range(1, 17)) and len(set(written.values())) == 1
