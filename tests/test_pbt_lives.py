"""A PBT policy that started over is said to have: where it began again, after which iteration, and how many
iterations it did again, by `report --pbt`, `show` and the keeper's events.

The record is a print-only launch of two policies whose jobs are then written
as sync would have recorded them, with iteration files copied as sync copies them.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from pbt_tracker.cli import cli
from pbt_tracker.pbt.history import copy_history
from pbt_tracker.pbt.lives import StartOver, over_text, starts_over
from pbt_tracker.store import open_store
from pbt_tracker.store.lives import AttemptTime, LifeRow
from tests.conftest import PYTHON, REPO_ROOT, query
from tests.test_history import synced_workspace_launch, write_iteration


def rows(life: str, iterations: range, second: int, step: int = 10) -> list[LifeRow]:
    """Files of one life of experiment 7, written `step` seconds apart from 08:00:`second` on."""
    return [LifeRow(7, iteration, life, f"2027-01-15 {_clock(second + step * n)}")
            for n, iteration in enumerate(iterations)]


def _clock(seconds: int) -> str:
    return f"{8 + seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}.000000"


ATTEMPTS = [AttemptTime(7, 70, 1, "2027-01-15 08:00:00.000000", "2027-01-15 08:10:00.000000"),
            AttemptTime(7, 71, 2, "2027-01-15 08:11:00.000000", None)]


def test_a_life_that_begins_below_where_the_earlier_ones_got_is_a_start_over_by_the_attempt_then_running() -> None:
    history = rows("life_a", range(1, 32), 10) + rows("life_b", range(1, 13), 670)

    [over] = starts_over(history, ATTEMPTS)

    assert over == StartOver(7, "life_b", 2, 71, restarted_from=0, after_iteration=31, iteration=12)
    assert over_text("03_toy", over) == ("03_toy attempt 2 restarted from iteration 0 after iteration 31 "
                                         "(12 iterations redone so far)")
    later = starts_over(history + rows("life_b", range(13, 41), 800), ATTEMPTS)
    assert over_text("03_toy", later[0]) == ("03_toy attempt 2 restarted from iteration 0 after iteration 31 "
                                             "(31 iterations redone)")


def test_the_first_and_highest_file_of_each_life_tell_as_much_as_every_file() -> None:
    history = rows("life_a", range(1, 32), 10) + rows("life_b", range(1, 41), 670)
    ends = [history[0], history[30], history[31], history[-1]]

    assert starts_over(ends[::-1], ATTEMPTS) == starts_over(history, ATTEMPTS)


def test_continuing_under_the_same_name_or_from_the_newest_checkpoint_is_no_start_over() -> None:
    assert starts_over(rows("life_a", range(1, 32), 10) + rows("life_a", range(32, 40), 670), ATTEMPTS) == []
    assert starts_over(rows("life_a", range(1, 32), 10) + rows("life_b", range(32, 40), 670), ATTEMPTS) == []
    assert starts_over(rows("life_a", range(1, 2), 10) + rows("life_b", range(1, 3), 670), ATTEMPTS) == [
        StartOver(7, "life_b", 2, 71, 0, 1, 2)]  # iteration 1 done twice
    assert over_text("p", starts_over(rows("a", range(1, 2), 10) + rows("b", range(1, 3), 670))[0]) == (
        "p (in a run outside its recorded attempts) restarted from iteration 0 after iteration 1 (1 iteration redone)")


def test_each_start_over_is_measured_against_every_life_before_it() -> None:
    history = (rows("a", range(1, 21), 10) + rows("b", range(1, 6), 670) + rows("c", range(4, 9), 900, step=1))

    assert starts_over(history, ATTEMPTS) == [StartOver(7, "b", 2, 71, 0, 20, 5), StartOver(7, "c", 2, 71, 3, 20, 8)]


START = 1_800_000_000  # the files' times, in seconds since the epoch (2027-01-15 08:00:00 UTC)
SYNCED = """
UPDATE submissions SET state='TIMEOUT', job_id='7600', started_at='2027-01-15 08:00:00.000000',
    ended_at='2027-01-15 08:10:00.000000' WHERE id=1;
INSERT INTO submissions (experiment_id, script_id, attempt, argv, log_path, state, job_id, started_at, ended_at,
    intended_at, updated_at)
SELECT experiment_id, script_id, 2, argv, log_path, 'COMPLETED', '7602', '2027-01-15 08:11:00.000000',
    '2027-01-15 09:00:00.000000', intended_at, updated_at FROM submissions WHERE id=1;
UPDATE submissions SET state='COMPLETED', job_id='7601', started_at='2027-01-15 08:00:00.000000',
    ended_at='2027-01-15 08:02:00.000000' WHERE id=2;
"""


@pytest.fixture
def work(tmp_path: Path, in_repo: Path) -> Path:
    """Policy 0: iterations 1-31, then its attempt 2 started over for 1-12. Policy 1: iterations 1-5, then
    something outside pbt-track started it over for 1-6 after its only attempt had ended."""
    work = synced_workspace_launch(tmp_path, SYNCED)
    [(cmd,)] = query(work / "pbt_tracker.db", "SELECT cmd FROM experiments WHERE id = 1")
    workspace = Path(shlex.split(cmd)[-1].partition("=")[2]) / "runs" / "ws"
    for iteration in range(1, 32):
        write_iteration(workspace / "000", iteration, "life_a", float(iteration), START + 10 * iteration)
    for iteration in range(1, 6):
        write_iteration(workspace / "001", iteration, "life_c", float(iteration), START + 10 * iteration)
    copy(work)  # as a sync would have, before the new lives wrote over the same file names
    for iteration in range(1, 13):
        write_iteration(workspace / "000", iteration, "life_b", float(iteration), START + 660 + 10 * iteration)
    for iteration in range(1, 7):
        write_iteration(workspace / "001", iteration, "life_d", float(iteration), START + 7200 + 10 * iteration)
    copy(work)
    return work


def copy(work: Path) -> None:
    store = open_store(work)
    try:
        copy_history(store)
    finally:
        store.close()


POLICY_0 = "00_ws_pbt attempt 2 restarted from iteration 0 after iteration 31 (12 iterations redone so far)"
POLICY_1 = ("01_ws_pbt (in a run outside its recorded attempts) restarted from iteration 0 after iteration 5 "
            "(5 iterations redone)")


def invoke(*argv: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(argv), env={"COLUMNS": "200", "NO_COLOR": "1"})
    return result.exit_code, result.output


def test_report_pbt_says_each_start_over_below_its_table_and_in_json(work: Path) -> None:
    code, table = invoke("report", "--workdir", str(work), "--pbt", "--no-sync")
    assert code == 0, table
    assert table.splitlines()[-2:] == [f"PBT policy started over: {POLICY_0}", f"PBT policy started over: {POLICY_1}"]
    code, without = invoke("report", "--workdir", str(work), "--no-sync")
    assert "started over" not in without

    code, text = invoke("report", "--workdir", str(work), "--pbt", "--no-sync", "--format", "json")
    assert code == 0, text
    assert [row["pbt_started_over"] for row in json.loads(text)] == [
        [{"attempt": 2, "life": "life_b", "restarted_from": 0, "after_iteration": 31, "iteration": 12,
          "iterations_redone": 12}],
        [{"attempt": None, "life": "life_d", "restarted_from": 0, "after_iteration": 5, "iteration": 6,
          "iterations_redone": 5}],
    ]
    code, text = invoke("report", "--workdir", str(work), "--no-sync", "--format", "json")
    assert "pbt_started_over" not in json.loads(text)[0]


def test_show_says_it_in_the_policys_pbt_lines(work: Path) -> None:
    code, text = invoke("show", "00_ws_pbt", "--workdir", str(work), "--no-sync")

    assert code == 0, text
    lines = text.splitlines()
    assert lines[2:4] == ["PBT policy 0: iteration 12, objective 12, best 31", f"  started over: {POLICY_0}"]


def test_the_keeper_tells_each_start_over_once_and_report_shows_it(work: Path, tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    tell = f"{PYTHON} -c 'import sys; open(sys.argv[1], \"a\").write(sys.stdin.read())' {events}"

    first = CliRunner().invoke(cli, ["watch", "--workdir", str(work), "--once", "--on-event", tell])
    again = CliRunner().invoke(cli, ["watch", "--workdir", str(work), "--once", "--on-event", tell])

    assert first.exit_code == 0, first.output
    assert f"00_ws_pbt: started-over: {POLICY_0}\n" in first.output
    assert f"01_ws_pbt: started-over: {POLICY_1}\n" in first.output
    assert "started-over" not in again.output
    told = [json.loads(line) for line in events.read_text().splitlines()]
    assert [(event["event"], event["experiment"], event["attempt"], event["job_id"], event["reason"])
            for event in told if event["event"] == "started-over"] == [
        ("started-over", "00_ws_pbt", 2, "7602", POLICY_0), ("started-over", "01_ws_pbt", None, None, POLICY_1)]
    assert query(work / "pbt_tracker.db", "SELECT count(*) FROM keeper_decisions WHERE action = 'started-over'") == [
        (2,)]
    code, table = invoke("report", "--workdir", str(work), "--no-sync")
    keeper = [line for line in table.splitlines() if line.startswith("keeper 00_ws_pbt: started-over at ")]
    assert len(keeper) == 1 and keeper[0].endswith(f": {POLICY_0}")


@pytest.mark.slow  # a few seconds of real processes: kept out of the quick tier
def test_a_policy_resumed_without_its_checkpoints_starts_over_and_everything_says_so(tmp_path: Path) -> None:
    """Real local processes: the toy trainer crashes in its fourth iteration, its checkpoints are lost, and
    `resubmit-failed` can only start it again without the continuation: from iteration 0, under a new name."""
    from tests.test_processes import launcher, pbt_track

    work = tmp_path / "work"
    launched = subprocess.run(launcher("--run", "tests.fixtures.toy_pbt_lost", "--workdir", str(work), "--train_dir",
                                       str(tmp_path / "train"), "--pause_between", "0"),
                              cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert launched.returncode == 1, launched.stderr
    policy_dir = tmp_path / "train" / "toy_lost" / "toy_lost_" / "runs" / "ws" / "000"
    assert sorted(path.name for path in policy_dir.glob("*.yaml")) == ["000001.yaml", "000002.yaml", "000003.yaml"]
    for checkpoint in policy_dir.glob("*.pth"):
        checkpoint.unlink()

    resubmitted = pbt_track("resubmit-failed", "--workdir", str(work))

    assert resubmitted.returncode == 0, resubmitted.stderr
    assert "00_toy_lost: policy 0 has no checkpoint on disk: starts from its original command" in resubmitted.stdout
    said = "00_toy_lost attempt 2 restarted from iteration 0 after iteration 3 (3 iterations redone)"
    report = pbt_track("report", "--workdir", str(work), "--pbt", "--wide")
    assert report.stdout.splitlines()[-1] == f"PBT policy started over: {said}"
    assert f"  started over: {said}\n" in pbt_track("show", "00_toy_lost", "--workdir", str(work)).stdout
    kept = pbt_track("watch", "--workdir", str(work), "--once")
    assert f"00_toy_lost: started-over: {said}\n" in kept.stdout
