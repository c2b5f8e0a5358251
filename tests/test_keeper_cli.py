"""`pbt-track watch` on the processes backend: real local runs, resumed, reported, told about, leased."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from pbt_tracker import processes
from pbt_tracker.cli import cli
from pbt_tracker.store import lease as lease_store
from pbt_tracker.store import open_store, utcnow, writes
from tests.conftest import PYTHON, REPO_ROOT, query
from tests.test_processes import PBT_TRACK, states, wait_until

POLICY_SCRIPT = """
import pathlib, sys, time
policy = [arg.split("=")[1] for arg in sys.argv if arg.startswith("pbt.policy_idx=")][0]
marker = pathlib.Path(__file__).with_name(f"ran{policy}")
first = not marker.exists()
marker.write_text("ran")
if first and pathlib.Path(__file__).with_name(f"hang{policy}").exists():
    time.sleep(120)
"""

RUN_MODULE = """
from pbt_tracker.run_description import Experiment, ParamGrid, RunDescription
RUN_DESCRIPTION = RunDescription(
    "keep",
    experiments=[Experiment("keep", "python {script}{workspace}", ParamGrid([("pbt.policy_idx", [0, 1])]).generate_params(randomize=False))],
    experiment_arg_name="experiment", experiment_dir_arg_name="hydra.run.dir", param_prefix="",
    customize_experiment_name=False,
)
"""


def make_run(tmp_path: Path, hang: tuple[int, ...] = (), workspace: Path | None = None) -> Path:
    """The run module; with `workspace`, its policies name that PBT workspace as IsaacGymEnvs' do."""
    script = tmp_path / "policy.py"
    script.write_text(POLICY_SCRIPT)
    for policy in hang:
        (tmp_path / f"hang{policy}").write_text("")
    module = tmp_path / "keep_run.py"
    module.write_text(RUN_MODULE.format(script=script, workspace=f" pbt.workspace={workspace}" if workspace else ""))
    return module


def submit(tmp_path: Path, module: Path) -> Path:
    work = tmp_path / "work"
    done = subprocess.run([PBT_TRACK, "submit", "--run", str(module), "--workdir", str(work), "--train_dir",
                           str(tmp_path / "train"), "--pause_between", "0"], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return work


def end_as(work: Path, experiment: str, state: str) -> None:
    """Stand-in: local processes have no time limit, so the state a Slurm time limit leaves is written here."""
    store = open_store(work)
    try:
        with store.write() as connection:
            (submission_id,) = connection.execute(
                "SELECT submission_id FROM experiment_status WHERE experiment = ?", (experiment,)).fetchone()
            writes.change_state(connection, submission_id, None, state, utcnow(), "stand-in for a time limit")
    finally:
        store.close()


def watch(work: Path, *argv: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["watch", "--workdir", str(work), *argv])


def decisions(work: Path) -> list[tuple]:
    return query(work / "pbt_tracker.db", "SELECT e.name, d.action, d.reason, json_extract(d.detail, '$.outcome') "
                                          "FROM keeper_decisions AS d LEFT JOIN experiments AS e "
                                          "ON e.id = d.experiment_id ORDER BY d.id")


def test_a_time_limited_experiment_is_resumed_and_the_keeper_stops_when_all_are_final(tmp_path: Path) -> None:
    work = submit(tmp_path, make_run(tmp_path))
    end_as(work, "00_keep", "TIMEOUT")
    events = tmp_path / "events.jsonl"
    code = f"import sys; open({str(events)!r}, 'a').write(sys.stdin.read())"
    hook = f"{PYTHON} -c {shlex.quote(code)}"

    result = watch(work, "--interval", "0.1", "--max-attempts", "3", "--on-event", hook)

    assert result.exit_code == 0, result.output
    assert "00_keep: resume: attempt 1 ended TIMEOUT; resumed as attempt 2\n" in result.output
    assert result.output.endswith("keeper: finished: every experiment is final (2 COMPLETED)\n")
    assert states(work) == {"00_keep": ("COMPLETED", 0), "01_keep": ("COMPLETED", 0)}
    assert decisions(work) == [
        ("00_keep", "resume", "attempt 1 ended TIMEOUT; resumed as attempt 2", "attempt 2 submitted"),
        (None, "finished", "every experiment is final (2 COMPLETED)", None),
    ]
    sent = [json.loads(line) for line in events.read_text().splitlines()]
    assert [(e["event"], e["experiment"], e["attempt"]) for e in sent] == [("resume", "00_keep", 1), ("finished", None, None)]
    assert query(work / "pbt_tracker.db", "SELECT count(*) FROM keeper_lease") == [(0,)]

    again = watch(work, "--once")
    assert again.output == "Nothing to keep: every experiment of this workdir is final (2 COMPLETED).\n"

    table = CliRunner().invoke(cli, ["report", "--workdir", str(work), "--no-sync"],
                               env={"COLUMNS": "200"}).output.splitlines()
    assert re.fullmatch(r"keeper 00_keep: resume at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: attempt 1 ended TIMEOUT; "
                        r"resumed as attempt 2", table[-1])
    assert table[-2] == "2 experiments: 2 COMPLETED"
    rows = json.loads(CliRunner().invoke(cli, ["report", "--workdir", str(work), "--format", "json"]).output)
    assert [row["keeper_last_decision"] and row["keeper_last_decision"]["action"] for row in rows] == ["resume", None]


def test_failed_is_left_unless_resume_failed_and_max_attempts_is_respected(tmp_path: Path) -> None:
    work = submit(tmp_path, make_run(tmp_path))
    end_as(work, "01_keep", "FAILED")

    left = watch(work, "--once")
    assert (left.exit_code, left.stdout) == (1, "Nothing to keep: every experiment of this workdir is final "
                                                "(1 COMPLETED, 1 FAILED).\n")
    assert left.stderr == (f"Error: {UNFINISHED}\n")
    gave_up = watch(work, "--once", "--resume-failed", "--max-attempts", "1")
    assert (gave_up.exit_code, gave_up.stdout) == (1, (
        "01_keep: give-up: attempt 1 ended FAILED; it was the last of --max-attempts 1\n"
        "keeper: finished: every experiment is final (1 COMPLETED, 1 FAILED)\n"))
    assert gave_up.stderr == (f"Error: {UNFINISHED}\n")


UNFINISHED = ("1 experiment(s) ended without completing: 01_keep FAILED (attempt 1); `pbt-track report` shows why, "
              "`pbt-track resubmit-failed` (or `watch --resume-failed`) runs them again")


@pytest.mark.slow  # a second or more of real processes: kept out of the quick tier
def test_a_failing_or_hanging_event_command_is_recorded_and_never_stops_the_keeper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = submit(tmp_path, make_run(tmp_path))
    end_as(work, "00_keep", "PREEMPTED")
    monkeypatch.setenv("PBT_TRACK_EVENT_TIMEOUT", "0.5")

    result = watch(work, "--once", "--on-event", f"{PYTHON} -c 'import time; time.sleep(30)'")

    assert result.exit_code == 0, result.output
    assert f"keeper: event-failed: --on-event {PYTHON} did not finish within 0.5 s and was killed\n" in result.output
    assert states(work)["00_keep"] == ("COMPLETED", 0)
    end_as(work, "01_keep", "NODE_FAIL")
    failing = watch(work, "--once", "--on-event", f"{PYTHON} -c 'import sys; sys.exit(\"no route to chat\")'")
    assert f"keeper: event-failed: --on-event {PYTHON} exited with 1: no route to chat\n" in failing.output
    assert [row[1] for row in decisions(work)] == ["resume", "event-failed", "resume", "event-failed"]


def test_a_scheduler_that_does_not_answer_decides_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pbt_tracker.errors import SchedulerError
    from pbt_tracker.tracker import sync

    work = submit(tmp_path, make_run(tmp_path))
    end_as(work, "00_keep", "TIMEOUT")

    def no_answer(store):  # type: ignore[no-untyped-def]
        raise SchedulerError("squeue did not answer within 60 s")

    monkeypatch.setattr(sync, "sync_workdir", no_answer)
    result = watch(work, "--once", "--interval", "30")

    assert result.output == ("keeper: scheduler-unavailable: squeue did not answer within 60 s; nothing is decided "
                             "until it answers, tried again in 30 s\n")
    assert states(work)["00_keep"] == ("TIMEOUT", 0)
    assert query(work / "pbt_tracker.db", "SELECT count(*) FROM submissions") == [(2,)]


def test_a_second_keeper_waits_for_the_lease_until_it_expires(tmp_path: Path) -> None:
    work = submit(tmp_path, make_run(tmp_path))
    store = open_store(work)
    now = utcnow()
    with store.write() as connection:
        lease_store.take_lease(connection, "other:1:1", "otherhost", 4242, now, now + timedelta(hours=1))

    held = watch(work, "--once")
    assert held.exit_code == 1
    assert held.output.startswith("Error: the keeper with pid 4242 on otherhost holds this workdir's lease until ")
    assert held.output.endswith("; let it work, or stop it and retry after that time\n")

    with store.write() as connection:
        lease_store.take_lease(connection, "other:1:1", "otherhost", 4242, now, now - timedelta(seconds=1))
    store.close()
    assert watch(work, "--once").exit_code == 0
    assert query(work / "pbt_tracker.db", "SELECT count(*) FROM keeper_lease") == [(0,)]


def test_a_keeper_killed_on_this_host_leaves_a_lease_the_next_takes_at_once(tmp_path: Path) -> None:
    work = submit(tmp_path, make_run(tmp_path))
    killed = subprocess.Popen([sys.executable, "-c", "pass"])
    killed.wait()  # its pid now names no process: a keeper that died, with no chance to release its lease
    store = open_store(work)
    now = utcnow()
    with store.write() as connection:
        lease_store.take_lease(connection, "killed:1:1", processes.hostname(), killed.pid, now,
                               now + timedelta(hours=1))
    store.close()

    assert watch(work, "--once").exit_code == 0


def test_a_live_keeper_on_this_host_keeps_its_lease(tmp_path: Path) -> None:
    work = submit(tmp_path, make_run(tmp_path))
    store = open_store(work)
    now = utcnow()
    with store.write() as connection:
        lease_store.take_lease(connection, "alive:1:1", processes.hostname(), os.getpid(), now,
                               now + timedelta(hours=1))
    store.close()

    held = watch(work, "--once")
    assert held.exit_code == 1
    assert held.output.startswith(f"Error: the keeper with pid {os.getpid()} on {processes.hostname()} holds ")


def test_pbt_options_without_pbt_experiments_are_one_line(tmp_path: Path) -> None:
    module = tmp_path / "plain.py"
    module.write_text(RUN_MODULE.replace('"pbt.policy_idx"', '"seed"').format(script=tmp_path / "x.py", workspace=""))
    (tmp_path / "x.py").write_text("")
    work = submit(tmp_path, module)

    result = watch(work, "--once", "--restart-stalled")

    assert (result.exit_code, result.output) == (1, "Error: --restart-stalled is for PBT policies, and no experiment "
                                                    "of this selection has a pbt.policy_idx; leave it out\n")
    assert decisions(work) == []


@pytest.mark.slow
def test_a_stalled_policy_is_reported_then_cancelled_and_resumed(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    module = make_run(tmp_path, hang=(0,), workspace=workspace)
    work = tmp_path / "work"
    launcher = subprocess.Popen([PBT_TRACK, "submit", "--run", str(module), "--workdir", str(work), "--train_dir",
                                 str(tmp_path / "train"), "--pause_between", "0"], cwd=REPO_ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: states(work) == {"00_keep": ("RUNNING", None), "01_keep": ("COMPLETED", 0)},
                   what="policy 0 running, policy 1 done")
        for iteration in (1, 2):  # what policy 0 wrote before it hung; sync copies it into the record
            (workspace / "000").mkdir(parents=True, exist_ok=True)
            (workspace / "000" / f"{iteration:06d}.yaml").write_text(f"iteration: {iteration}\ntrue_objective: 1.0\n")
        assert CliRunner().invoke(cli, ["sync", "--workdir", str(work)]).exit_code == 0
        assert query(work / "pbt_tracker.db", "SELECT policy, iteration FROM pbt_iterations ORDER BY iteration") == [
            (0, 1), (0, 2)]
        time.sleep(1.2)

        reported = watch(work, "--once", "--stall-after", "1")
        assert re.fullmatch(r"00_keep: stalled: attempt 1 is RUNNING but no new iteration for \d+ s \(limit 1 s\)\n",
                            reported.output)
        assert watch(work, "--once", "--stall-after", "1").output == ""  # said once per attempt

        restarted = watch(work, "--once", "--stall-after", "1", "--restart-stalled")
        assert "00_keep: restart-stalled: attempt 1 is RUNNING but no new iteration" in restarted.output
        assert (restarted.exit_code, restarted.output.splitlines()[-1]) == (0, "00_keep: cancelled")
        assert decisions(work)[-1][1::2] == ("restart-stalled", "cancelled")
        assert states(work)["00_keep"][0] == "CANCELLED"
        resumed = watch(work, "--once", "--stall-after", "1", "--restart-stalled")
        assert ("00_keep: resume: attempt 1 ended CANCELLED (cancelled by the keeper as stalled); "
                "resumed as attempt 2\n") in resumed.output
        assert states(work)["00_keep"] == ("COMPLETED", 0)
    finally:
        launcher.kill()
        launcher.communicate()


BROKEN_AFTER_FIRST = """
import pathlib, sys
marker = pathlib.Path(__file__).with_name("ran-once")
if marker.exists():
    sys.exit("ImportError: the training environment is broken")
marker.write_text("ran")
"""


def test_a_resume_that_fails_at_start_is_an_event_with_its_log_line_and_is_resumed_again(tmp_path: Path) -> None:
    script = tmp_path / "policy.py"
    script.write_text(BROKEN_AFTER_FIRST)
    module = tmp_path / "keep_run.py"
    module.write_text(RUN_MODULE.format(script=script, workspace="").replace("[0, 1]", "[0]"))
    work = submit(tmp_path, module)
    end_as(work, "00_keep", "TIMEOUT")
    assert watch(work, "--once").output.startswith("00_keep: resume: attempt 1 ended TIMEOUT; resumed as attempt 2\n")

    again = watch(work, "--once")

    assert again.exit_code == 0, again.output
    assert re.fullmatch(
        r"00_keep: resume-failed-at-start: resume failed at start: attempt 2 ended FAILED \d+ s after its start; "
        r"its log ends: ImportError: the training environment is broken; resumed as attempt 3\n(.|\n)*", again.output)
    assert states(work)["00_keep"] == ("FAILED", 1)
    assert [action for _name, action, _reason, _outcome in decisions(work)] == [
        "resume", "resume-failed-at-start"]
    assert query(work / "pbt_tracker.db", "SELECT max(attempt) FROM submissions") == [(3,)]


def test_each_attempt_says_what_sent_it_launch_keeper_or_resubmit(tmp_path: Path) -> None:
    work = submit(tmp_path, make_run(tmp_path))
    end_as(work, "00_keep", "TIMEOUT")
    assert watch(work, "--once").exit_code == 0
    end_as(work, "01_keep", "FAILED")
    assert CliRunner().invoke(cli, ["resubmit-failed", "--workdir", str(work)]).exit_code == 0

    assert query(work / "pbt_tracker.db", "SELECT e.name, s.attempt, s.origin FROM submissions s "
                                          "JOIN experiments e ON e.id = s.experiment_id ORDER BY s.id") == [
        ("00_keep", 1, "launch"), ("01_keep", 1, "launch"), ("00_keep", 2, "keeper"), ("01_keep", 2, "resubmit")]
