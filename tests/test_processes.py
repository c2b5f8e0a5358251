"""The processes backend, for real: local processes, launched, followed and stopped from other shells."""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pbt_tracker.processes import ProcessId, hostname, is_running
from tests.conftest import PYTHON, REPO_ROOT, query

PBT_TRACK = str(Path(sys.executable).parent / "pbt-track")


def launcher(*argv: str) -> list[str]:
    return [PYTHON, "-m", "pbt_tracker.launcher.run", *argv]


def pbt_track(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PBT_TRACK, *argv], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)


def states(work: Path) -> dict[str, tuple[str, int | None]]:
    rows = query(work / "pbt_tracker.db", "SELECT experiment, state, exit_code FROM experiment_status")
    return {name: (state, code) for name, state, code in rows}


def wait_until(condition, timeout: float = 30.0, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except Exception:  # the database may not exist yet
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {timeout} s")
        time.sleep(0.2)


@pytest.fixture
def background(tmp_path: Path):
    """Start a launcher like a user in another terminal; whatever is left is stopped at the end."""
    started: list[subprocess.Popen[str]] = []

    def start(*argv: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(launcher(*argv), cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate()
    for db in tmp_path.rglob("pbt_tracker.db"):
        for (pid,) in query(db, "SELECT job_id FROM submissions WHERE job_id IS NOT NULL"):
            try:
                os.killpg(int(pid), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def test_a_local_launch_runs_every_experiment_and_records_how_each_ended(tmp_path: Path) -> None:
    work = tmp_path / "work"
    done = subprocess.run(launcher("--run", "tests.fixtures.quick_outcomes", "--workdir", str(work), "--train_dir",
                                   str(tmp_path / "train"), "--pause_between", "0"),
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert states(work) == {
        "00_quick_out_ok": ("COMPLETED", 0),
        "01_quick_out_flaky": ("FAILED", 3),
        "02_quick_out_ok": ("COMPLETED", 0),
    }
    rows = query(work / "pbt_tracker.db", "SELECT job_id, log_path, host FROM submissions ORDER BY id")
    assert all(job_id.isdigit() and host == hostname() for job_id, _, host in rows)
    assert Path(rows[1][1]).read_text() == "01_quick_out_flaky: flaky\n"
    assert [line for line in done.stdout.splitlines() if line.startswith("Failed processes:")] == [
        f"Failed processes: 01_quick_out_flaky (pid {rows[1][0]}, code 3)"
    ]
    assert query(work / "pbt_tracker.db", "SELECT backend FROM launches") == [("processes",)]
    assert not (work / "scancel.sh").exists()


@pytest.mark.slow  # a second or more of real processes: kept out of the quick tier
def test_commands_are_split_like_a_shell_and_python_means_this_interpreter(tmp_path: Path) -> None:
    work = tmp_path / "work"
    done = subprocess.run(launcher("--run", "tests.fixtures.local_commands", "--workdir", str(work), "--train_dir",
                                   str(tmp_path / "t"), "--pause_between", "0", "--num_gpus", "2",
                                   "--experiments_per_gpu", "1"),
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    gpus = []
    for log in sorted(work.glob("*.log")):
        executable, argv, gpu, env_var = log.read_text().splitlines()
        assert executable == sys.executable
        assert ast.literal_eval(argv)[:2] == ["two words", "it's"]
        assert env_var == "from the run description"
        gpus.append(gpu)
    assert sorted(gpus) == ["0", "0", "1", "1"]


@pytest.mark.slow  # a second or more of real processes: kept out of the quick tier
def test_two_experiments_never_share_a_gpu_when_each_gets_one(tmp_path: Path) -> None:
    work = tmp_path / "work"
    subprocess.run(launcher("--run", "tests.fixtures.local_commands", "--workdir", str(work), "--train_dir",
                            str(tmp_path / "t"), "--pause_between", "0", "--num_gpus", "2",
                            "--experiments_per_gpu", "1", "--max_parallel", "4"),
                   cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=True)
    spans = query(work / "pbt_tracker.db",
                  "SELECT c.detail, s.started_at, s.ended_at FROM state_changes c "
                  "JOIN submissions s ON s.id = c.submission_id WHERE c.state = 'RUNNING'")
    by_gpu: dict[str, list[tuple[str, str]]] = {}
    for detail, start, end in spans:
        by_gpu.setdefault(detail.split("GPU ")[1], []).append((start, end))
    for intervals in by_gpu.values():
        intervals.sort()
        assert all(earlier[1] <= later[0] for earlier, later in zip(intervals, intervals[1:]))


@pytest.mark.slow  # a second or more of real processes: kept out of the quick tier
def test_cancel_from_another_shell_stops_one_experiment_and_leaves_the_others(tmp_path: Path, background) -> None:
    work = tmp_path / "work"
    run = background("--run", "tests.fixtures.mixed_outcomes", "--workdir", str(work), "--train_dir",
                     str(tmp_path / "t"), "--pause_between", "0")
    wait_until(lambda: states(work).get("03_mixed_out_long", ("",))[0] == "RUNNING", what="both long ones running")
    pids = dict(query(work / "pbt_tracker.db", "SELECT e.name, s.job_id FROM submissions s "
                                               "JOIN experiments e ON e.id = s.experiment_id"))

    cancelled = pbt_track("cancel", "--workdir", str(work), "--experiment", "02_mixed_out_long")
    assert cancelled.stdout == f"Cancelled 02_mixed_out_long (job {pids['02_mixed_out_long']})\n"
    assert states(work)["02_mixed_out_long"] == ("CANCELLED", 0)  # and signal 15: 0:15, as Slurm records it
    shown = pbt_track("report", "--workdir", str(work), "--experiment", "02_mixed_out_long", "-o", "exit_code")
    assert shown.stdout.splitlines()[2] == "     0:15"
    assert states(work)["03_mixed_out_long"] == ("RUNNING", None)
    start = query(work / "pbt_tracker.db", "SELECT process_start FROM submissions s JOIN experiments e "
                                           "ON e.id = s.experiment_id WHERE e.name = '03_mixed_out_long'")[0][0]
    assert is_running(ProcessId(int(pids["03_mixed_out_long"]), start, hostname()))

    assert pbt_track("cancel", "--workdir", str(work), "--all").returncode == 0
    assert run.wait(timeout=30) == 1
    assert "Process finished 03_mixed_out_long: CANCELLED (exit code 0:15)" in run.stdout.read()
    assert {state for state, _ in states(work).values()} == {"COMPLETED", "FAILED", "CANCELLED"}


@pytest.mark.slow  # a second or more of real processes: kept out of the quick tier
def test_a_killed_launcher_leaves_nothing_shown_as_running_that_is_not(tmp_path: Path, background) -> None:
    work = tmp_path / "work"
    run = background("--run", "tests.fixtures.mixed_outcomes", "--workdir", str(work), "--train_dir",
                     str(tmp_path / "t"), "--pause_between", "0", "--max_parallel", "1")
    wait_until(lambda: states(work).get("00_mixed_out_ok") == ("COMPLETED", 0), what="the first one done")
    wait_until(lambda: states(work).get("02_mixed_out_long", ("",))[0] == "RUNNING", what="a long one running")
    run.send_signal(signal.SIGKILL)
    run.wait()

    synced = pbt_track("sync", "--workdir", str(work))
    assert synced.returncode == 0, synced.stderr
    assert states(work) == {
        "00_mixed_out_ok": ("COMPLETED", 0),
        "01_mixed_out_flaky": ("FAILED", 3),
        "02_mixed_out_long": ("RUNNING", None),  # its keeper outlives the launcher: it really runs
        "03_mixed_out_long": ("SUBMIT_FAILED", None),
    }
    pid, start = query(work / "pbt_tracker.db", "SELECT job_id, process_start FROM submissions WHERE state = 'RUNNING'")[0]
    os.killpg(int(pid), signal.SIGKILL)  # the machine takes it, keeper and all: no exit code is left
    wait_until(lambda: not is_running(ProcessId(int(pid), start, hostname())), what="the process gone")

    assert pbt_track("sync", "--workdir", str(work)).returncode == 0
    assert states(work)["02_mixed_out_long"] == ("UNKNOWN", None)
    assert query(work / "pbt_tracker.db", "SELECT count(*) FROM submissions WHERE state = 'RUNNING'") == [(0,)]


@pytest.mark.slow  # a second or more of real processes: kept out of the quick tier
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_on_the_launcher_stops_its_experiments_and_records_them_cancelled(
    tmp_path: Path, background, signum: int
) -> None:
    work = tmp_path / "work"
    run = background("--run", "tests.fixtures.mixed_outcomes", "--workdir", str(work), "--train_dir",
                     str(tmp_path / "t"), "--pause_between", "0", "--max_parallel", "3")
    wait_until(lambda: states(work).get("02_mixed_out_long", ("",))[0] == "RUNNING", what="a long one running")
    wait_until(lambda: states(work).get("00_mixed_out_ok", ("",))[0] == "COMPLETED", what="a slot free")
    run.send_signal(signum)
    assert run.wait(timeout=30) == 130
    final = states(work)
    assert final["02_mixed_out_long"] == ("CANCELLED", 0)  # killed by SIGTERM: 0:15
    assert final["03_mixed_out_long"][0] == "CANCELLED"
    pids = [int(pid) for (pid,) in query(work / "pbt_tracker.db", "SELECT job_id FROM submissions WHERE job_id IS NOT NULL")]
    assert not any(Path(f"/proc/{pid}").exists() and "job.py" in Path(f"/proc/{pid}/cmdline").read_text()
                   for pid in pids)


def test_resubmit_failed_runs_a_failed_local_experiment_again_as_attempt_2(tmp_path: Path) -> None:
    work = tmp_path / "work"
    subprocess.run(launcher("--run", "tests.fixtures.quick_outcomes", "--workdir", str(work), "--train_dir",
                            str(tmp_path / "t"), "--pause_between", "0"), cwd=REPO_ROOT, capture_output=True, timeout=120)
    done = pbt_track("resubmit-failed", "--workdir", str(work))
    assert done.returncode == 0, done.stderr
    assert "Process finished 01_quick_out_flaky: COMPLETED (exit code 0)" in done.stdout
    again = pbt_track("resubmit-failed", "--workdir", str(work))
    assert again.stdout == "Nothing to resubmit: no experiment's latest attempt failed.\n"
    report = json.loads(pbt_track("report", "--workdir", str(work), "--all-attempts", "--format", "json",
                                  "--experiment", "01_quick_out_flaky").stdout)
    assert [(row["attempt"], row["state"], row["exit_code"]) for row in report] == [(1, "FAILED", 3), (2, "COMPLETED", 0)]
    assert report[1]["log"] == str(work / "01_quick_out_flaky.2.log")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--run", "tests.fixtures.quick_outcomes", "--max_parallel", "0"], "--max_parallel must be 1 or more, not 0"),
        (["--run", "tests.fixtures.quick_outcomes", "--experiments_per_gpu", "0"],
         "--experiments_per_gpu must be -1 (leave CUDA_VISIBLE_DEVICES alone) or 1 or more, not 0"),
        (["--run", "tests.fixtures.bad_quotes"],
         "cannot split the command \"python -c 'print(1) --experiment=00_q --train_dir=./train_dir/quotes/q_\": "
         "No closing quotation; check its quotes"),
    ],
)
def test_bad_local_options_are_one_line_and_write_nothing(tmp_path: Path, argv: list[str], message: str) -> None:
    done = subprocess.run(launcher(*argv, "--workdir", str(tmp_path / "w")), cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=60)
    assert (done.returncode, done.stderr) == (1, f"error: {message}\n")
    assert not (tmp_path / "w").exists()


@pytest.mark.slow  # a second or more of real processes: kept out of the quick tier
def test_experiments_that_ignore_sigterm_are_killed_after_the_grace_period(tmp_path: Path, background) -> None:
    work = tmp_path / "work"
    run = background("--run", "tests.fixtures.stubborn", "--workdir", str(work), "--train_dir", str(tmp_path / "t"),
                     "--pause_between", "0")
    wait_until(lambda: [s for s, _ in states(work).values()] == ["RUNNING"] * 3, what="all three running")
    env = {**os.environ, "PBT_TRACK_KILL_GRACE": "1"}
    done = subprocess.run([PBT_TRACK, "cancel", "--workdir", str(work), "--all"], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    final = states(work).values()
    assert [state for state, _ in final] == ["CANCELLED"] * 3
    # SIGKILL leaves no exit file: the runner, still alive, may record its child's signal 9 (shown 0:9, as Slurm
    # writes it), else nothing is known
    signals = query(work / "pbt_tracker.db", "SELECT exit_code, exit_signal FROM submissions")
    assert set(signals) <= {(None, None), (None, 9), (0, 9)}, signals
    rows = query(work / "pbt_tracker.db", "SELECT job_id, process_start FROM submissions")
    assert not any(is_running(ProcessId(int(pid), start, hostname())) for pid, start in rows)
    assert run.wait(timeout=30) == 1


def test_a_second_local_launch_of_the_same_experiments_keeps_the_first_ones_logs(tmp_path: Path) -> None:
    work = tmp_path / "work"
    for _ in range(2):
        subprocess.run(launcher("--run", "tests.fixtures.quick_outcomes", "--workdir", str(work), "--train_dir",
                                str(tmp_path / "t"), "--pause_between", "0"), cwd=REPO_ROOT, capture_output=True,
                       timeout=120)
    logs = query(work / "pbt_tracker.db", "SELECT e.launch_id, e.id, s.log_path FROM submissions AS s "
                                          "JOIN experiments AS e ON e.id = s.experiment_id ORDER BY s.id")
    assert [(launch, Path(log).name) for launch, _, log in logs] == [
        (1, "00_quick_out_ok.1.log"), (1, "01_quick_out_flaky.1.log"), (1, "02_quick_out_ok.1.log"),
        (2, f"00_quick_out_ok.1.e{logs[3][1]}.log"), (2, f"01_quick_out_flaky.1.e{logs[4][1]}.log"),
        (2, f"02_quick_out_ok.1.e{logs[5][1]}.log"),
    ]
    assert all(Path(log).read_text() for _, _, log in logs)


def test_a_second_local_launch_of_experiments_still_running_is_refused(tmp_path: Path, background) -> None:
    work = tmp_path / "work"
    argv = ("--run", "tests.fixtures.mixed_outcomes", "--workdir", str(work), "--train_dir", str(tmp_path / "t"),
            "--pause_between", "0")
    background(*argv)
    wait_until(lambda: [state for state, _ in states(work).values()] == ["COMPLETED", "FAILED", "RUNNING", "RUNNING"],
               what="the short ones ended, the long ones running")
    pids = dict(query(work / "pbt_tracker.db", "SELECT e.name, s.job_id FROM submissions s "
                                               "JOIN experiments e ON e.id = s.experiment_id"))

    second = pbt_track("submit", *argv)

    assert (second.returncode, second.stderr) == (1, (
        f"Error: 2 experiment(s) of this run may still run in this workdir (02_mixed_out_long as job "
        f"{pids['02_mixed_out_long']} of launch 1, 03_mixed_out_long as job {pids['03_mixed_out_long']} of launch 1); "
        "cancel them first (`pbt-track cancel --launch 1`), send only their failed ones again "
        "(`pbt-track resubmit-failed --launch 1`), or launch them into new directories with --experiment_suffix\n"
    ))
    assert query(work / "pbt_tracker.db", "SELECT count(*) FROM launches UNION ALL SELECT count(*) FROM submissions"
                 ) == [(1,), (4,)]
