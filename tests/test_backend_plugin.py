"""A backend kept outside pbt-track (tests/fakesched) goes through every command, registered the public ways.

Nothing under pbt_tracker/ names it: the registry imports its facade from
where it was registered, the launch option table gains its option from the
registry, and submit, sync, report, cancel and resubmit-failed reach its
scheduler through the hooks alone. Its scheduler is a JSON file in the
workdir, moved along by the tests as a real one would move its jobs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from pbt_tracker import backends
from pbt_tracker.cli import cli
from pbt_tracker.launcher.run import main as launcher_main
from tests.conftest import REPO_ROOT, query, read_with
from tests.fakesched import NAME, queue
from tests.fakesched.launch import CANCEL_LIST

FACADE = "tests.fakesched.backend:FakeSched"
RUN = "tests.fakesched.seeds"
PBT_TRACK = str(Path(sys.executable).parent / "pbt-track")
HEADER = [  # at 80 columns the run is left out
    "experiment    attempt  job_id  state      exit_code  elapsed  node      log",
    "------------  -------  ------  ---------  ---------  -------  --------  ---",
]


@pytest.fixture
def registered() -> Iterator[None]:
    backends.register(NAME, FACADE)
    yield
    backends.unregister(NAME)


def pbt_track(*argv: str) -> tuple[int, list[str], list[str]]:
    """`pbt-track ARGV` in this process: its exit code, and its output and error lines."""
    result = CliRunner().invoke(cli, list(argv), prog_name="pbt-track")
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout.splitlines(), result.stderr.splitlines()


def submitted(tmp_path: Path) -> Path:
    work = tmp_path / "w"
    code, out, err = pbt_track("submit", "--run", RUN, "--backend", NAME, "--workdir", str(work),
                               "--train_dir", str(tmp_path / "t"), "--fakesched-queue", "gpu")
    assert (code, out, err) == (0, [
        read_with("FakeSched"),
        "Submitted 00_fit_see_1 as job 9001 to queue gpu",
        "Submitted 01_fit_see_2 as job 9002 to queue gpu",
        "Submitted 02_fit_see_3 as job 9003 to queue gpu",
        f"Recorded in {work}/pbt_tracker.db (launch 1)",
    ], [])
    return work


def test_pbt_track_itself_never_names_the_fake_backend() -> None:
    package = REPO_ROOT / "pbt_tracker"
    assert [path for path in package.rglob("*.py") if NAME in path.read_text() or "fakesched" in path.read_text()] == []


def test_unregistered_the_fake_backend_is_no_backend_at_all(in_repo: Path, tmp_path: Path) -> None:
    code, out, err = pbt_track("submit", "--run", RUN, "--backend", NAME, "--workdir", str(tmp_path / "w"))
    assert (code, out, err) == (2, [], [
        "Error: Invalid value for '--backend': 'fakesched' is not one of 'processes', 'slurm', 'ngc'. "
        "(see `pbt-track submit --help`)"
    ])


def test_registered_it_brings_its_option_and_its_choice_to_submits_help(registered: None) -> None:
    code, out, _ = pbt_track("submit", "--help")
    assert code == 0
    assert "  --backend [processes|slurm|ngc|fakesched]" in out
    assert out[out.index("  --fakesched_queue, --fakesched-queue TEXT") + 1:][:2] == [
        "                                  Fake scheduler: the queue its jobs wait in.",
        "                                  [default: default]",
    ]
    assert "                                  [default: 1; 0 with --backend ngc; 0 with" in out
    code, out, err = pbt_track("submit", "--run", RUN, "--fakesched_queue", "gpu")
    assert (code, err) == (2, ["Error: --fakesched_queue needs --backend fakesched (see `pbt-track submit --help`)"])


def test_submit_sync_report_cancel_and_resubmit_failed_on_the_fake_backend(
    registered: None, in_repo: Path, tmp_path: Path
) -> None:
    work = submitted(tmp_path)
    [(options,)] = query(work / "pbt_tracker.db", "SELECT options FROM launches WHERE backend = 'fakesched'")
    assert '"fakesched_queue": "gpu"' in options
    assert (work / CANCEL_LIST).read_text() == "9001\n9002\n9003\n"

    queue.move(work, "9001", "RUNNING")
    queue.move(work, "9002", "COMPLETED", exit_code=0)
    queue.move(work, "9003", "FAILED", exit_code=3)
    assert pbt_track("sync", "--workdir", str(work)) == (
        0, ["Asked about 3 job(s) in 1 scheduler call(s); 3 changed."], [])
    assert pbt_track("report", "--workdir", str(work), "--no-sync", "-o", "experiment,job_id,state,exit_code,node") == (
        0, [
            "experiment    job_id  state      exit_code  node",
            "------------  ------  ---------  ---------  --------",
            "00_fit_see_1  9001    RUNNING            -  fakenode",
            "01_fit_see_2  9002    COMPLETED          0  fakenode",
            "02_fit_see_3  9003    FAILED             3  fakenode",
            "3 experiments: 1 COMPLETED, 1 FAILED, 1 RUNNING",
        ], [])

    # The settle after a cancel asks the fake scheduler once, through its hook: no sync needed to see the end.
    assert pbt_track("cancel", "00_fit_see_1", "--workdir", str(work)) == (0, ["Cancelled 00_fit_see_1 (job 9001)"], [])
    assert queue.calls(work) == {"submit": 3, "list": 2, "cancel": 1}
    assert queue.state_of(work, "9001") == "CANCELLED"
    assert query(work / "pbt_tracker.db", "SELECT state FROM submissions WHERE job_id = '9001'") == [("CANCELLED",)]

    # The next attempt goes to the queue its launch recorded; jobs_changed rewrites the list of active jobs.
    assert pbt_track("resubmit-failed", "--workdir", str(work)) == (
        0, ["Resubmitted 02_fit_see_3 as job 9004 to queue gpu"], [])
    assert (work / CANCEL_LIST).read_text() == "9004\n"
    queue.move(work, "9004", "COMPLETED", exit_code=0)
    assert pbt_track("report", "--workdir", str(work)) == (0, [
        *HEADER,
        "00_fit_see_1        1  9001    CANCELLED          -  0:05:00  fakenode  -",
        "01_fit_see_2        1  9002    COMPLETED          0  0:05:00  fakenode  -",
        "02_fit_see_3        2  9004    COMPLETED          0  0:05:00  fakenode  -",
        "3 experiments: 1 CANCELLED, 2 COMPLETED",
    ], [])
    assert queue.calls(work) == {"submit": 4, "list": 3, "cancel": 1}


def test_a_report_names_the_fake_scheduler_when_it_does_not_answer(
    registered: None, in_repo: Path, tmp_path: Path
) -> None:
    work = submitted(tmp_path)
    assert pbt_track("sync", "--workdir", str(work))[0] == 0
    [(answered,)] = query(work / "pbt_tracker.db", "SELECT answered_at FROM sync_runs WHERE backend = 'fakesched'")
    queue.set_down(work)
    code, out, err = pbt_track("report", "--workdir", str(work), "-o", "experiment,state")
    assert (code, out[-1], err) == (0, "3 experiments: 3 PENDING", [
        f"Note: FakeSched did not answer, so the states below are as of the last sync FakeSched answered, at "
        f"{answered[:19].replace(' ', 'T')}Z: fakesched did not answer (its queue file says it is down)"
    ])
    assert pbt_track("sync", "--workdir", str(work)) == (
        1, [], ["Error: fakesched did not answer (its queue file says it is down)"])


def test_the_original_launchers_command_line_takes_the_fake_backends_flags(
    registered: None, in_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = tmp_path / "w"
    assert launcher_main(["--run", RUN, "--backend", NAME, "--workdir", str(work), "--train_dir", str(tmp_path / "t"),
                          "--fakesched_queue", "cpu"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "Submitted 00_fit_see_1 as job 9001 to queue cpu"
    assert launcher_main(["--backend", "slurm", "--fakesched_queue", "cpu"]) == 2
    assert capsys.readouterr().err == ("error: unrecognized arguments: --fakesched_queue cpu; "
                                       "see `python -m pbt_tracker.launcher.run --help`\n")


def run_pbt_track(*argv: str, plugin: bool = True) -> subprocess.CompletedProcess[str]:
    """A real `pbt-track` process, the fake backend named in its environment."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    env.pop(backends.ENVIRONMENT, None)
    if plugin:
        env[backends.ENVIRONMENT] = FACADE
    return subprocess.run([PBT_TRACK, *argv], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_a_pbt_track_process_finds_the_fake_backend_named_in_its_environment(tmp_path: Path) -> None:
    work = tmp_path / "w"
    done = run_pbt_track("submit", "--run", RUN, "--backend", NAME, "--workdir", str(work), "--train_dir",
                         str(tmp_path / "t"))
    assert (done.returncode, done.stdout.splitlines()[-1], done.stderr) == (
        0, f"Recorded in {work}/pbt_tracker.db (launch 1)", "")
    queue.move(work, "9001", "RUNNING")
    queue.move(work, "9002", "FAILED", exit_code=1)
    done = run_pbt_track("report", "--workdir", str(work), "-o", "experiment,job_id,state")
    assert (done.returncode, done.stdout.splitlines()[2:], done.stderr) == (0, [
        "00_fit_see_1  9001    RUNNING",
        "01_fit_see_2  9002    FAILED",
        "02_fit_see_3  9003    PENDING",
        "3 experiments: 1 FAILED, 1 PENDING, 1 RUNNING",
    ], "")
    done = run_pbt_track("cancel", "--all", "--workdir", str(work))
    assert (done.returncode, done.stdout, done.stderr) == (
        0, "Cancelled 00_fit_see_1 (job 9001)\nCancelled 02_fit_see_3 (job 9003)\n", "")
    done = run_pbt_track("resubmit-failed", "--workdir", str(work))
    assert (done.returncode, done.stdout, done.stderr) == (0, "Resubmitted 01_fit_see_2 as job 9004 to queue default\n",
                                                           "")
    assert queue.calls(work) == {"submit": 4, "list": 2, "cancel": 1}

    # Without the variable, the record names a backend this pbt-track does not know: one line, and nothing changes.
    done = run_pbt_track("report", "--workdir", str(work), plugin=False)
    assert (done.returncode, done.stdout, done.stderr) == (1, "", (
        "Error: this record has a launch on backend 'fakesched', which this pbt-track does not know; "
        "upgrade pbt-track\n"))
