"""A job script's claim and its guard, run under bash here as Slurm would run it: never twice, never from scratch.

sbatch is a stand-in that hands out job ids 100, 101, ... and runs nothing;
each test then runs a recorded script under bash with the environment Slurm
gives a job (SLURM_JOB_ID, SLURM_RESTART_COUNT), squeue a stand-in where the
guard asks about a job the record lacks. tests/slurm/test_guard_on_slurm.py
does the same on the real cluster.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from pbt_tracker.cli import cli
from tests.conftest import PYTHON, REPO_ROOT, query
from tests.test_continue import SBATCH_COUNTS
from tests.test_resume import write_iteration

TEMPLATE = "#!/bin/bash\n$CMD\n"
# A template whose jobs send their successor themselves: sync looks for the jobs the record did not send.
CHAIN_TEMPLATE = '#!/bin/bash\n$CMD\nif [ -n "$${RESUBMIT:-}" ]; then sbatch "$$0"; fi\n'


def submit(tmp_path: Path, run: str = "tests.fixtures.pbt_workspace_echo", *extra: str, code: int = 0,
           template: str = TEMPLATE) -> Path:
    (tmp_path / "template.sh").write_text(template)
    work = tmp_path / "w"
    result = CliRunner().invoke(cli, ["submit", "--run", run, "--backend", "slurm", "--workdir", str(work),
                                      "--train_dir", str(tmp_path / "t"), "--pause_between", "0",
                                      "--slurm_sbatch_template", str(tmp_path / "template.sh"), *extra])
    assert result.exit_code == code, result.output
    return work


@pytest.fixture
def launched(tmp_path: Path, in_repo: Path, fake_bin) -> Path:  # type: ignore[no-untyped-def]
    """Two PBT policies sent as jobs 100 (policy 0) and 101 (policy 1)."""
    fake_bin("sbatch", SBATCH_COUNTS)
    return submit(tmp_path)


def run_job(script: Path, job: str | None, wait: bool = True, **env: str):  # type: ignore[no-untyped-def]
    """The script under bash as job `job` would run it: the environment sbatch passes on, Slurm's own variables."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("SLURM_")}
    environment.update({"PATH": f"{Path(PYTHON).parent}{os.pathsep}{os.environ['PATH']}",
                        "PBT_TRACK_CLAIM_WAIT": "0.3", **({"SLURM_JOB_ID": job} if job else {}), **env})
    argv = ["bash", str(script)]
    if not wait:
        return subprocess.Popen(argv, cwd=REPO_ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
    return subprocess.run(argv, cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=60)


def args_of(tmp_path: Path, policy: int, *extra: str) -> str:
    return (f"policy args: pbt.num_policies=2 pbt.workspace=ws pbt.policy_idx={policy} experiment=0{policy}_ws_pbt "
            f"hydra.run.dir={tmp_path}/t/ws_pbt/ws_pbt_{''.join(' ' + word for word in extra)}\n")


def notes(work: Path, name: str) -> list[tuple[int, str, str]]:
    """The lines a job's guard wrote into its attempts' history (their state is RUNNING: the job runs as it writes)."""
    return query(work / "pbt_tracker.db", "SELECT s.attempt, c.state, c.detail FROM state_changes c JOIN submissions s "
                 "ON s.id = c.submission_id JOIN experiments e ON e.id = s.experiment_id WHERE e.name = ? "
                 "AND c.state = 'RUNNING' AND c.detail IS NOT NULL ORDER BY c.id", name)


def claim_file(tmp_path: Path, name: str) -> Path:
    return tmp_path / "t" / "ws_pbt" / "ws_pbt_" / ".pbt-track" / f"{name}.lock"


def test_a_first_start_runs_its_command_as_recorded_and_writes_nothing_to_the_record(
    tmp_path: Path, launched: Path
) -> None:
    before = query(launched / "pbt_tracker.db", "SELECT count(*) FROM state_changes")

    done = run_job(launched / "sbatch_01_ws_pbt.sh", "101")

    assert (done.returncode, done.stdout, done.stderr) == (0, args_of(tmp_path, 1), "")
    assert query(launched / "pbt_tracker.db", "SELECT count(*) FROM state_changes") == before
    assert claim_file(tmp_path, "01_ws_pbt").read_text().startswith(
        "job 101 runs 01_ws_pbt as attempt 1 (submission 2) on ")


def test_a_second_copy_started_while_the_first_holds_the_claim_exits_0_without_running_saying_why(
    tmp_path: Path, in_repo: Path, fake_bin
) -> None:
    fake_bin("sbatch", SBATCH_COUNTS)
    work = submit(tmp_path, "tests.fixtures.hold_pbt")
    hold, started = tmp_path / "hold", tmp_path / "started"
    hold.write_text("")
    script = work / "sbatch_00_hold_pbt.sh"
    first = run_job(script, "100", wait=False, HOLD=str(hold), STARTED=str(started))
    try:
        deadline = time.monotonic() + 30
        while not started.exists():
            assert time.monotonic() < deadline and first.poll() is None, first.communicate()
            time.sleep(0.02)

        second = run_job(script, "100", HOLD=str(hold), STARTED=str(tmp_path / "started-twice"),
                         PBT_TRACK_CLAIM_WAIT="0.1")
    finally:
        hold.unlink()
        out, err = first.communicate(timeout=30)

    lock = tmp_path / "t" / "hold_pbt" / "hold_pbt_" / ".pbt-track" / "00_hold_pbt.lock"
    holder = lock.read_text().strip()
    assert holder.startswith("job 100 runs 00_hold_pbt as attempt 1 (submission 1) on ")
    assert (second.returncode, second.stdout) == (0, "")
    assert second.stderr.splitlines() == [
        f"pbt-track: 00_hold_pbt is claimed ({holder}); job 100 waits up to 0.1 s",
        f"pbt-track: 00_hold_pbt is still claimed after 0.1 s ({holder}); job 100 does not run it",
    ]
    assert not (tmp_path / "started-twice").exists()
    assert (first.returncode, err) == (0, "")
    assert out.startswith("policy args: pbt.num_policies=1 pbt.workspace=ws pbt.policy_idx=0")


def test_a_job_of_an_attempt_that_is_no_longer_current_exits_0_naming_the_current_one(launched: Path) -> None:
    assert CliRunner().invoke(cli, ["continue", "--workdir", str(launched), "--job", "100"]).exit_code == 0

    done = run_job(launched / "sbatch_00_ws_pbt.sh", "100")

    assert (done.returncode, done.stdout, done.stderr) == (0, "", (
        "pbt-track: job 100 runs attempt 1 of 00_ws_pbt, but attempt 2 (job 102, SUBMITTED) is its current attempt; "
        "this job does not run it\n"))


def test_a_requeued_policy_continues_from_its_latest_checkpoint_and_its_history_says_so(
    tmp_path: Path, launched: Path
) -> None:
    write_iteration(tmp_path / "t" / "ws_pbt" / "ws_pbt_" / "runs" / "ws" / "001", 5, "ws_pbt_life1")
    checkpoint = tmp_path / "t" / "ws_pbt" / "ws_pbt_" / "runs" / "ws" / "001" / "000005.pth"

    done = run_job(launched / "sbatch_01_ws_pbt.sh", "101", SLURM_RESTART_COUNT="1")

    said = f"requeued (restart 1): continues policy 1 from iteration 5 (checkpoint {checkpoint})"
    assert (done.returncode, done.stderr) == (0, f"pbt-track: job 101, {said}\n")
    assert done.stdout == args_of(tmp_path, 1, "++pbt_restart=True", "+full_experiment_name=ws_pbt_life1",
                                  f"checkpoint={checkpoint}", "train.params.config.lr=0.001")
    assert notes(launched, "01_ws_pbt") == [(1, "RUNNING", said)]
    resolved = launched / "continuations" / "sbatch_01_ws_pbt.1.job101.sh"
    [(path, text)] = query(launched / "pbt_tracker.db", "SELECT path, text FROM scripts WHERE path LIKE '%job101%'")
    assert (path, text) == (str(resolved), resolved.read_text())
    assert text == "#!/bin/bash\n" + done.stdout.replace("policy args: ", "python -c 'import sys; print('\"'\"'policy "
                                                          "args:'\"'\"', '\"'\"' '\"'\"'.join(sys.argv[1:]))' ")
    shown = CliRunner().invoke(cli, ["show", "01_ws_pbt", "--workdir", str(launched), "--no-sync"])
    assert f"  RUNNING  {said}" in shown.output


def test_a_requeued_policy_without_a_checkpoint_starts_from_iteration_0_and_its_history_says_so(
    tmp_path: Path, launched: Path
) -> None:
    done = run_job(launched / "sbatch_00_ws_pbt.sh", "100", SLURM_RESTART_COUNT="2")

    said = ("requeued (restart 2): restarted from iteration 0 "
            "(policy 0 has no checkpoint yet: starts from its original command)")
    assert (done.returncode, done.stdout, done.stderr) == (0, args_of(tmp_path, 0), f"pbt-track: job 100, {said}\n")
    assert notes(launched, "00_ws_pbt") == [(1, "RUNNING", said)]


def test_a_restart_count_inherited_from_the_job_that_sent_this_one_is_not_a_requeue(
    tmp_path: Path, launched: Path
) -> None:
    """Job 101, requeued once, asks for its continuation, which sbatch sends with 101's environment; the claim
    file names 101, not 102, as the last to run the policy."""
    write_iteration(tmp_path / "t" / "ws_pbt" / "ws_pbt_" / "runs" / "ws" / "001", 5, "ws_pbt_life1")
    assert run_job(launched / "sbatch_01_ws_pbt.sh", "101", SLURM_RESTART_COUNT="1").returncode == 0
    assert CliRunner().invoke(cli, ["continue", "--workdir", str(launched), "--job", "101"]).exit_code == 0
    continuation = launched / "continuations" / "sbatch_01_ws_pbt.2.sh"

    done = run_job(continuation, "102", SLURM_RESTART_COUNT="1")

    checkpoint = tmp_path / "t" / "ws_pbt" / "ws_pbt_" / "runs" / "ws" / "001" / "000005.pth"
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == args_of(tmp_path, 1, "++pbt_restart=True", "+full_experiment_name=ws_pbt_life1",
                                  f"checkpoint={checkpoint}", "train.params.config.lr=0.001")
    assert [attempt for attempt, _state, _said in notes(launched, "01_ws_pbt")] == [1]  # 101's requeue alone


def test_a_job_that_ran_its_policy_before_continues_it_whatever_its_environment_says(
    tmp_path: Path, launched: Path
) -> None:
    assert run_job(launched / "sbatch_00_ws_pbt.sh", "100").returncode == 0
    write_iteration(tmp_path / "t" / "ws_pbt" / "ws_pbt_" / "runs" / "ws" / "000", 3, "ws_pbt_life0")

    done = run_job(launched / "sbatch_00_ws_pbt.sh", "100")

    checkpoint = tmp_path / "t" / "ws_pbt" / "ws_pbt_" / "runs" / "ws" / "000" / "000003.pth"
    said = f"started again (job 100 ran it before): continues policy 0 from iteration 3 (checkpoint {checkpoint})"
    assert (done.returncode, done.stderr) == (0, f"pbt-track: job 100, {said}\n")
    assert "++pbt_restart=True" in done.stdout


def squeue_says(fake_bin, job: str, script: Path, comment: str = "") -> None:  # type: ignore[no-untyped-def]
    """squeue's line for one job, in the fields the guard asks for."""
    line = (f"{job}|RUNNING|0|vm|2026-12-01T10:00:05|N/A|2026-12-01T10:00:01|{script}|{script}-slurm-%j.out|None|"
            f"{comment}|")
    fake_bin("squeue", f"#!/bin/sh\necho '{line}'\n")


def test_a_job_the_record_did_not_send_becomes_the_next_attempt_and_continues_the_policy(
    tmp_path: Path, launched: Path, fake_bin
) -> None:
    """The original's chain: the job's own `sbatch $FILENAME` sends its script again, untagged."""
    script = launched / "sbatch_01_ws_pbt.sh"
    squeue_says(fake_bin, "555", script)
    write_iteration(tmp_path / "t" / "ws_pbt" / "ws_pbt_" / "runs" / "ws" / "001", 7, "ws_pbt_life1")

    done = run_job(script, "555")

    checkpoint = tmp_path / "t" / "ws_pbt" / "ws_pbt_" / "runs" / "ws" / "001" / "000007.pth"
    reason = "a job of attempt 1's script that pbt-track did not send"
    said = f"{reason}: continues policy 1 from iteration 7 (checkpoint {checkpoint})"
    assert (done.returncode, done.stderr) == (0, f"pbt-track: job 555, {said}\n")
    assert f"checkpoint={checkpoint}" in done.stdout
    db = launched / "pbt_tracker.db"
    assert query(db, "SELECT s.attempt, s.origin, s.job_id, s.state, s.log_path, s.argv, p.job_id FROM submissions s "
                     "JOIN submissions p ON p.id = s.parent_submission_id WHERE s.job_id = '555'") == [
        (2, "chain", "555", "RUNNING", f"{script}-slurm-%j.out", json.dumps(["sbatch", str(script)]), "101")]
    assert notes(launched, "01_ws_pbt") == [(2, "RUNNING", f"found by its guard at start: {reason}"),
                                            (2, "RUNNING", said)]
    assert (launched / "continuations" / "sbatch_01_ws_pbt.2.job555.sh").exists()


def test_a_second_job_of_one_sbatch_is_recorded_as_the_next_attempt_and_starts_nothing_over(
    tmp_path: Path, launched: Path, fake_bin
) -> None:
    """A retried sbatch whose first answer was lost: two jobs carry the same tag."""
    [(argv,)] = query(launched / "pbt_tracker.db", "SELECT argv FROM submissions WHERE job_id = '101'")
    squeue_says(fake_bin, "556", launched / "sbatch_01_ws_pbt.sh", json.loads(argv)[1].partition("=")[2])

    done = run_job(launched / "sbatch_01_ws_pbt.sh", "556")

    said = ("a second job of attempt 1's sbatch (attempt 1 is job 101): restarted from iteration 0 "
            "(policy 1 has no checkpoint yet: starts from its original command)")
    assert (done.returncode, done.stdout, done.stderr) == (0, args_of(tmp_path, 1), f"pbt-track: job 556, {said}\n")
    assert query(launched / "pbt_tracker.db", "SELECT attempt, origin FROM submissions WHERE job_id = '556'") == [
        (2, "chain")]

    late = run_job(launched / "sbatch_01_ws_pbt.sh", "101")

    assert (late.returncode, late.stdout, late.stderr) == (0, "", (
        "pbt-track: job 101 runs attempt 1 of 01_ws_pbt, but attempt 2 (job 556, RUNNING) is its current attempt; "
        "this job does not run it\n"))


def test_a_job_whose_sbatch_answer_was_lost_is_known_by_its_tag_and_starts_as_its_attempt(
    tmp_path: Path, in_repo: Path, fake_bin
) -> None:
    fake_bin("sbatch", "#!/bin/sh\necho 'sbatch: error: Socket timed out on send/recv operation' >&2\nexit 1\n")
    work = submit(tmp_path, code=1)
    [(argv, job_id)] = query(work / "pbt_tracker.db", "SELECT argv, job_id FROM submissions WHERE id = 1")
    assert job_id is None
    squeue_says(fake_bin, "7000", work / "sbatch_00_ws_pbt.sh", json.loads(argv)[1].partition("=")[2])
    write_iteration(tmp_path / "t" / "ws_pbt" / "ws_pbt_" / "runs" / "ws" / "000", 4, "ws_pbt_life0")

    done = run_job(work / "sbatch_00_ws_pbt.sh", "7000")

    assert (done.returncode, done.stdout, done.stderr) == (0, args_of(tmp_path, 0), "")  # its first start, as sent
    assert notes(work, "00_ws_pbt") == []
    assert claim_file(tmp_path, "00_ws_pbt").read_text().startswith(
        "job 7000 runs 00_ws_pbt as attempt 1 (submission 1) on ")


def test_a_job_whose_sbatch_answer_was_lost_starts_as_its_attempt_when_squeue_leaves_its_line_out(
    tmp_path: Path, in_repo: Path, fake_bin
) -> None:
    """Stand-in squeue answering without the job's own line (a listing cut short): silence names no other sender."""
    fake_bin("sbatch", "#!/bin/sh\necho 'sbatch: error: Socket timed out on send/recv operation' >&2\nexit 1\n")
    work = submit(tmp_path, code=1)
    fake_bin("squeue", "#!/bin/sh\nexit 0\n")
    write_iteration(tmp_path / "t" / "ws_pbt" / "ws_pbt_" / "runs" / "ws" / "000", 4, "ws_pbt_life0")

    done = run_job(work / "sbatch_00_ws_pbt.sh", "7000")

    assert (done.returncode, done.stdout, done.stderr) == (0, args_of(tmp_path, 0), "")  # its first start, as sent
    assert notes(work, "00_ws_pbt") == []
    assert query(work / "pbt_tracker.db", "SELECT count(*) FROM submissions") == [(2,)]  # no attempt of its own
    assert claim_file(tmp_path, "00_ws_pbt").read_text().startswith(
        "job 7000 runs 00_ws_pbt as attempt 1 (submission 1) on ")


def test_an_experiment_that_is_not_a_pbt_policy_runs_its_command_as_recorded_when_requeued(
    tmp_path: Path, in_repo: Path, fake_bin
) -> None:
    fake_bin("sbatch", SBATCH_COUNTS)
    work = submit(tmp_path, "tests.fixtures.quick_outcomes")
    [(name, script)] = query(work / "pbt_tracker.db", "SELECT e.name, sc.path FROM experiments e JOIN scripts sc "
                                                      "ON sc.experiment_id = e.id WHERE e.position = 0")

    done = run_job(Path(script), "100", SLURM_RESTART_COUNT="1")

    said = "requeued (restart 1): runs its command as recorded (not a PBT policy)"
    assert (done.returncode, done.stderr) == (0, f"pbt-track: job 100, {said}\n")
    assert done.stdout == f"{name}: ok\n"
    assert notes(work, name) == [(1, "RUNNING", said)]


def test_a_previews_script_started_by_hand_does_not_run(tmp_path: Path, in_repo: Path) -> None:
    work = submit(tmp_path, "tests.fixtures.pbt_workspace_echo", "--slurm_print_only", "true")

    done = run_job(work / "sbatch_00_ws_pbt.sh", "42")

    assert (done.returncode, done.stdout, done.stderr) == (0, "", (
        "pbt-track: no attempt of 00_ws_pbt was sent (launch 1 is a preview; `pbt-track submit --launch 1` "
        "sends it); job 42 does not run it\n"))


def test_a_script_started_outside_slurm_does_not_run(launched: Path) -> None:
    done = run_job(launched / "sbatch_00_ws_pbt.sh", None)

    assert (done.returncode, done.stdout, done.stderr) == (0, "", (
        "pbt-track: this script was started outside Slurm (no SLURM_JOB_ID), where the record cannot follow it; "
        "it does not run 00_ws_pbt\n"))


def test_a_job_whose_record_is_gone_fails_without_running(launched: Path) -> None:
    (launched / "pbt_tracker.db").rename(launched / "elsewhere.db")

    done = run_job(launched / "sbatch_00_ws_pbt.sh", "100")

    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith("Error: ")


def test_a_chain_link_that_sync_recorded_before_it_started_continues_the_policy(
    tmp_path: Path, in_repo: Path, fake_bin
) -> None:
    fake_bin("sbatch", SBATCH_COUNTS)
    launched = submit(tmp_path, template=CHAIN_TEMPLATE)
    script = launched / "sbatch_01_ws_pbt.sh"
    squeue_says(fake_bin, "557", script)
    fake_bin("sacct", "#!/bin/sh\nexit 0\n")
    assert CliRunner().invoke(cli, ["sync", "--workdir", str(launched)]).exit_code == 0
    assert query(launched / "pbt_tracker.db", "SELECT attempt, origin FROM submissions WHERE job_id = '557'") == [
        (2, "chain")]
    write_iteration(tmp_path / "t" / "ws_pbt" / "ws_pbt_" / "runs" / "ws" / "001", 2, "ws_pbt_life1")

    done = run_job(script, "557")

    checkpoint = tmp_path / "t" / "ws_pbt" / "ws_pbt_" / "runs" / "ws" / "001" / "000002.pth"
    said = ("attempt 2 was sent by its predecessor's own sbatch (origin chain): continues policy 1 from iteration 2 "
            f"(checkpoint {checkpoint})")
    assert (done.returncode, done.stderr) == (0, f"pbt-track: job 557, {said}\n")
    assert f"checkpoint={checkpoint}" in done.stdout
    assert notes(launched, "01_ws_pbt")[-1] == (2, "RUNNING", said)


def test_a_second_job_of_a_lost_sbatch_answer_started_after_the_first_ran_continues_rather_than_starts_over(
    tmp_path: Path, in_repo: Path, fake_bin
) -> None:
    """Neither job is on record (the answer was lost): the claim file says job 7000 already ran attempt 1."""
    fake_bin("sbatch", "#!/bin/sh\necho 'sbatch: error: Socket timed out on send/recv operation' >&2\nexit 1\n")
    work = submit(tmp_path, code=1)
    [(argv,)] = query(work / "pbt_tracker.db", "SELECT argv FROM submissions WHERE id = 1")
    tag = json.loads(argv)[1].partition("=")[2]
    squeue_says(fake_bin, "7000", work / "sbatch_00_ws_pbt.sh", tag)
    assert run_job(work / "sbatch_00_ws_pbt.sh", "7000").stdout == args_of(tmp_path, 0)
    write_iteration(tmp_path / "t" / "ws_pbt" / "ws_pbt_" / "runs" / "ws" / "000", 4, "ws_pbt_life0")
    squeue_says(fake_bin, "7001", work / "sbatch_00_ws_pbt.sh", tag)

    done = run_job(work / "sbatch_00_ws_pbt.sh", "7001")

    checkpoint = tmp_path / "t" / "ws_pbt" / "ws_pbt_" / "runs" / "ws" / "000" / "000004.pth"
    said = ("a second job of attempt 1's sbatch (job 7000 ran it): continues policy 0 from iteration 4 "
            f"(checkpoint {checkpoint})")
    assert (done.returncode, done.stderr) == (0, f"pbt-track: job 7001, {said}\n")
    assert f"checkpoint={checkpoint}" in done.stdout
    assert query(work / "pbt_tracker.db", "SELECT attempt, origin FROM submissions WHERE job_id = '7001'") == [
        (2, "chain")]
